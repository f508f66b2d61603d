"""
The structural measures of docs/architecture.md, read from the source with
C{ast} (nothing is imported):

- no class over 500 lines and no function over 80 lines in pbxcore/,
  channels/ and plugins/;
- no import cycle between their modules, imports inside functions included;
- nothing in pbxcore/ imports channels;
- the pure modules reach no twisted.internet, directly or through any
  module they import;
- the SIP layers import downwards only (wire <- machines <- net <- driver,
  admin);
- no module imports another module's private (underscored) name.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("pbxcore", "channels", "plugins")

MAX_CLASS_LINES = 500
MAX_FUNCTION_LINES = 80

#: Temporary, named allowances for the size limits: (path, qualified name).
#: Each is code another piece of work is reshaping right now; remove the
#: entry when that lands (the test fails on an allowance that is no longer
#: needed, so none outlives its reason).
SIZE_ALLOWANCES = set()

#: Modules that parse, decide or compute deadlines: no reactor, no sockets.
PURE = (
    "channels.sip.wire",            # the SIP codec (every module of the folder)
    "channels.sip.machines",        # transaction, dialog and INVITE session machines
    "pbxcore.config",
    "pbxcore.frame",
    "pbxcore.dialplan.parser",
    "pbxcore.dialplan.pattern",
    "pbxcore.dialplan.expr",
    "pbxcore.dialplan.timing",
    "pbxcore.dialplan.conffile",
    "pbxcore.manager.framing",
    "pbxcore.manager.config",       # manager.conf, eventfilters
    "pbxcore.manager.confedit",     # the .conf editor behind GetConfig/UpdateConfig
    "pbxcore.manager.events",       # which session gets which event
    "pbxcore.manager.mf",           # PlayMF's tone plan
    "pbxcore.media.g711",
    "pbxcore.media.dtmf",
    "pbxcore.media.rtp",
    "pbxcore.media.rtcp",
    "pbxcore.media.wav",
    "pbxcore.media.stun",
    "pbxcore.media.srtp",
    "pbxcore.media.demux",
    "pbxcore.devicestate.aggregation",
    "pbxcore.pickupgroups",         # call and pickup groups
    "pbxcore.http.config",          # http.conf
    "pbxcore.http.uri",             # HTTPURI, what modules mount
    "pbxcore.metrics",              # /metrics' model, read at scrape time
    "pbxcore.store.realtime",       # extconfig.conf, res_pgsql.conf, the schemas
    "channels.sip.net.stats",       # SIP message counters
    "plugins.res_ari_config",       # ari.conf
    "plugins.res_ari_spec",         # the ARI operation table, routing, parameters
    "plugins.res_ari_schema",       # the Swagger models
    "plugins.res_ari_model",        # the JSON shapes of ARI objects and events
    "plugins.res_ari_mixer",        # two-leg audio mixing
    "plugins.res_parking_config",   # res_parking.conf, slot choice
    "plugins.app_mixmonitor_options",  # MixMonitor options, volume
    "plugins.app_confbridge_mix",   # conference mixing (numpy), talker detection
    "plugins.app_confbridge_config",  # confbridge.conf
    "plugins.app_queue_config",     # queues.conf
    "plugins.app_queue_strategy",   # queue members and ring strategies
    "plugins.app_queue_log",        # queue_log lines
)

#: The SIP driver's layers, lowest first; a module may import its own layer
#: and the ones below.
SIP_LAYERS = {"wire": 0, "machines": 1, "net": 2, "driver": 3, "admin": 3}


def _modules():
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def _resolve(name):
    """The project module C{name} names (or is inside), or None."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module):
    """
    Every (imported dotted name, line) of C{module}, at any depth (imports
    inside functions count); C{from a import b} yields C{a.b} and C{a}.
    """
    isPackage = MODULES[module].name == "__init__.py"
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if isPackage else module.split(".")[:-1]
                package = package[:len(package) - (node.level - 1)]
                base = ".".join(package + ([base] if base else []))
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno
            yield base, node.lineno


def _graph():
    graph = {}
    for module in MODULES:
        deps = set()
        for name, _ in _imports(module):
            target = _resolve(name)
            if target is not None and target != module:
                deps.add(target)
        graph[module] = deps
    return graph


GRAPH = _graph()


def _sizes():
    """(kind, path, qualified name, lines) of every class and function."""
    out = []

    def visit(node, path, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                kind = "class" if isinstance(child, ast.ClassDef) else "function"
                out.append((kind, path, name, child.end_lineno - child.lineno + 1))
                visit(child, path, name + ".")
            else:
                visit(child, path, prefix)

    for module, tree in TREES.items():
        visit(tree, MODULES[module].relative_to(ROOT).as_posix(), "")
    return out


def test_theTreeIsRead():
    assert "channels.sip.wire.parser" in MODULES and "pbxcore.channel" in MODULES
    assert "channels.sip.wire.headers" in GRAPH["channels.sip.wire.parser"]


def test_sizes():
    over = []
    allowed = set()
    for kind, path, name, lines in _sizes():
        limit = MAX_CLASS_LINES if kind == "class" else MAX_FUNCTION_LINES
        if lines > limit:
            if (path, name) in SIZE_ALLOWANCES:
                allowed.add((path, name))
            else:
                over.append(f"{path}: {kind} {name} has {lines} lines (limit {limit})")
    assert over == []
    assert allowed == SIZE_ALLOWANCES, f"allowances no longer needed: {SIZE_ALLOWANCES - allowed}"


def _cycles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, onStack, found = {}, {}, [], set(), []
    counter = [0]

    def connect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        onStack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in onStack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                onStack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_cycleFinderFindsCycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_noImportCycles():
    assert _cycles(GRAPH) == []


def test_coreNeverImportsChannels():
    arrows = [f"{module}:{line} imports {name}"
              for module in MODULES if module.split(".")[0] == "pbxcore"
              for name, line in _imports(module) if name.split(".")[0] == "channels"]
    assert arrows == []


def _pureModules():
    return sorted(m for m in MODULES for p in PURE if m == p or m.startswith(p + "."))


@pytest.mark.parametrize("prefix", PURE)
def test_pureModulesExist(prefix):
    assert any(m == prefix or m.startswith(prefix + ".") for m in MODULES), prefix


def test_pureModulesReachNoReactor():
    problems = []
    for start in _pureModules():
        seen, todo = set(), [(start, start)]
        while todo:
            module, path = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            for name, line in _imports(module):
                if name == "twisted.internet" or name.startswith("twisted.internet."):
                    problems.append(f"{path}: {MODULES[module].name}:{line} imports {name}")
                target = _resolve(name)
                if target is not None and target not in seen:
                    todo.append((target, f"{path} -> {target}"))
    assert sorted(set(problems)) == []


def test_sipLayersImportDownwards():
    upward = []
    for module, deps in GRAPH.items():
        parts = module.split(".")
        if parts[:2] != ["channels", "sip"] or len(parts) < 3 or parts[2] not in SIP_LAYERS:
            continue
        for dep in deps:
            depParts = dep.split(".")
            if depParts[:2] == ["channels", "sip"] and len(depParts) >= 3 \
                    and depParts[2] in SIP_LAYERS and SIP_LAYERS[depParts[2]] > SIP_LAYERS[parts[2]]:
                upward.append(f"{module} imports {dep}")
    assert upward == []


def test_noPrivateImportsAcrossModules():
    private = []
    for module in MODULES:
        for node in ast.walk(TREES[module]):
            if isinstance(node, ast.ImportFrom) and node.module and _resolve(node.module):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        private.append(f"{module}:{node.lineno} imports {node.module}.{alias.name}")
    assert private == []
