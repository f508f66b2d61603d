"""
The manager's configuration actions, Asterisk's names, fields and messages:
GetConfig, GetConfigJSON, UpdateConfig, CreateConfig, ListCategories, and
ShowDialPlan to see the dialplan a reload made of them.

Files are named relative to the configuration folder; a name that leads
outside it (absolute, C{..}, a symbolic link) is refused with Asterisk's
"File requires escalated privileges", for reading and writing alike.
"""

import json
import os

from twisted.internet import defer

from pbxcore.errors import ManagerError, ModuleError
from pbxcore.manager.confedit import (
    ConfigFile,
    EditError,
    applyUpdates,
    updatesFrom,
)
from pbxcore.manager.responses import ListResponse, Success

RESTRICTED = "File requires escalated privileges"


def _configDir(session):
    return os.path.realpath(session.pbx.configDir)


def inside(root, path):
    """Whether C{path} (resolved) lies in the folder C{root}."""
    real = os.path.realpath(path)
    return real.startswith(root + os.sep)


def resolve(session, name):
    """The real path of configuration file C{name}, or ManagerError."""
    name = (name or "").strip()
    if not name:
        raise ManagerError("Filename not specified")
    root = _configDir(session)
    path = os.path.realpath(name if os.path.isabs(name) else os.path.join(root, name))
    if not inside(root, path):
        raise ManagerError(RESTRICTED)
    return path


def _readText(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError):
        return None


def openConfig(session, name):
    """A L{ConfigFile} for C{name}, or Asterisk's errors."""
    path = resolve(session, name)
    root = _configDir(session)
    try:
        return ConfigFile(path, _readText, lambda p: inside(root, p))
    except FileNotFoundError:
        raise ManagerError("Config file not found")
    except EditError:
        raise ManagerError("Config file has invalid format")


def getConfig(session, request):
    config = openConfig(session, request.get("Filename"))
    category = (request.get("Category") or "").strip() or None
    fields = []
    count = 0
    for cat, variables in config.browse(category, (request.get("Filter") or "").strip() or None):
        fields.append((f"Category-{count:06d}", cat.name))
        if cat.template:
            fields.append((f"IsTemplate-{count:06d}", "1"))
        if cat.parents:
            fields.append((f"Templates-{count:06d}", ",".join(cat.parents)))
        for n, var in enumerate(variables):
            fields.append((f"Line-{count:06d}-{n:06d}", f"{var.name}={var.value}"))
        count += 1
    if category and not count:
        fields.append(("No categories found", ""))
    return Success(fields=tuple(fields))


def getConfigJSON(session, request):
    config = openConfig(session, request.get("Filename"))
    category = (request.get("Category") or "").strip() or None
    parts = []
    for cat, variables in config.browse(category, (request.get("Filter") or "").strip() or None):
        members = []
        if cat.template:
            members.append('"istemplate":1')
        if cat.parents:
            members.append(f'"templates":{json.dumps(",".join(cat.parents))}')
        members += [f"{json.dumps(v.name)}:{json.dumps(v.value)}" for v in variables]
        parts.append(f"{json.dumps(cat.name)}:{{{','.join(members)}}}")
    return Success(fields=(("JSON", "{" + ",".join(parts) + "}"),))


def listCategories(session, request):
    config = openConfig(session, request.get("Filename"))
    match = (request.get("Match") or "").strip() or None
    fields = [(f"Category-{n:06d}", cat.name)
              for n, (cat, _) in enumerate(config.browse(None, match))]
    if not fields:
        fields.append(("Error", "no categories found"))
    return Success(fields=tuple(fields))


def _write(path, text):
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(text)
    try:
        os.chmod(temporary, os.stat(path).st_mode & 0o7777)
    except FileNotFoundError:
        pass
    os.replace(temporary, path)


def updateConfig(session, request):
    source = request.get("SrcFilename")
    destination = request.get("DstFilename")
    if not (source or "").strip() or not (destination or "").strip():
        raise ManagerError("Filename not specified")
    destinationPath = resolve(session, destination)
    config = openConfig(session, source)
    try:
        applyUpdates(config, updatesFrom(request.get))
    except EditError as e:
        raise ManagerError(str(e))
    try:
        for path, text in config.changedDocuments(destinationPath):
            _write(path, text)
    except OSError:
        raise ManagerError("Save of config failed")
    reload = (request.get("Reload") or "").strip()
    lowered = reload.lower()
    if not reload or lowered in ("no", "false", "n", "f", "0", "off"):
        return Success()
    module = None if lowered in ("yes", "true", "y", "t", "1", "on") else reload
    d = defer.maybeDeferred(session.pbx.reload, module)

    def reloaded(results):
        return Success()

    def failed(failure):
        failure.trap(ModuleError)
        return Success()

    return d.addCallbacks(reloaded, failed)


def createConfig(session, request):
    path = resolve(session, request.get("Filename"))
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o664)
    except OSError as e:
        raise ManagerError(os.strerror(e.errno) if e.errno else str(e))
    os.close(fd)
    return Success("New configuration file created successfully")


def _dialplanItems(dialplan, contextName, extenName):
    from pbxcore.dialplan.parser import PRIORITY_HINT

    items = []
    counts = {"exten": 0, "prio": 0, "context": 0}
    found = {"context": False, "exten": False}
    for name, context in dialplan.contexts.items():
        if contextName and name.lower() != contextName.lower():
            continue
        found["context"] = True
        counts["context"] += 1
        for ext in context.extensions():
            if extenName and ext.name != extenName:
                continue
            found["exten"] = True
            counts["exten"] += 1
            for step in ext.priorities():
                counts["prio"] += 1
                fields = [("Context", name), ("Extension", ext.displayName)]
                if step.label:
                    fields.append(("ExtensionLabel", step.label))
                if step.priority == PRIORITY_HINT:
                    fields += [("Priority", "hint"), ("Application", step.app)]
                else:
                    fields += [("Priority", str(step.priority)), ("Application", step.app),
                               ("AppData", step.data)]
                fields.append(("Registrar", "pbx_config"))
                items.append(("ListDialplan", fields))
        if not extenName:
            for include in context.includes:
                items.append(("ListDialplan", [("Context", name),
                                               ("IncludeContext", include.context),
                                               ("Registrar", "pbx_config")]))
    return items, counts, found


def showDialPlan(session, request):
    dialplan = getattr(session.pbx, "dialplan", None)
    contextName = (request.get("Context") or "").strip()
    extenName = (request.get("Extension") or "").strip()
    if dialplan is None:
        items, counts, found = [], {"exten": 0, "prio": 0, "context": 0}, \
            {"context": False, "exten": False}
    else:
        items, counts, found = _dialplanItems(dialplan, contextName, extenName)
    if contextName and not found["context"]:
        raise ManagerError(f"Did not find context {contextName}")
    if extenName and not found["exten"]:
        if contextName:
            raise ManagerError(f"Did not find extension {extenName}@{contextName}")
        raise ManagerError(f"Did not find extension {extenName} in any context")
    return ListResponse(items, "ShowDialPlanComplete", "DialPlan list will follow",
                        completeFields=(("ListExtensions", counts["exten"]),
                                        ("ListPriorities", counts["prio"]),
                                        ("ListContexts", counts["context"])))


def configActions(Action):
    """The actions above as C{Action} objects, Asterisk's privileges."""
    return [
        Action("GetConfig", ("system", "config"), "Retrieve configuration", getConfig),
        Action("GetConfigJSON", ("system", "config"), "Retrieve configuration (JSON format)",
               getConfigJSON),
        Action("UpdateConfig", ("config",), "Update basic configuration", updateConfig),
        Action("CreateConfig", ("config",), "Creates an empty file in the configuration directory",
               createConfig),
        Action("ListCategories", ("config",), "List categories in configuration file",
               listCategories),
        Action("ShowDialPlan", ("config", "reporting"), "Show dialplan contexts and extensions",
               showDialPlan),
    ]
