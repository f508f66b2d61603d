"""
The PBX-wide settings: C{pbx.conf} ([options] and [directories], with the
keys of Asterisk's asterisk.conf) and C{modules.conf}.
"""

import glob
import os
from dataclasses import dataclass, field

from pbxcore.config import ConfigError, parseFile


def loadConfigFile(configDir, name, required=False):
    """Parse C{name} from C{configDir}; None when absent and not required."""
    path = os.path.join(configDir, name)
    if not os.path.exists(path) and not required:
        return None
    return parseFile(path)


def _int(entry, low=None):
    try:
        value = int(entry.value)
    except ValueError:
        raise ConfigError(f"{entry.key} must be a whole number, not {entry.value!r}",
                          entry.filename, entry.line)
    if low is not None and value < low:
        raise ConfigError(f"{entry.key} must be at least {low}", entry.filename, entry.line)
    return value


@dataclass
class PBXSettings:
    """
    Settings every part of the PBX may read. Also readable as a mapping
    (C{settings['maxcalls']}).
    """

    configDir: str = "etc"
    verbose: int = 3
    debug: int = 0
    maxcalls: int = None
    systemname: str = ""
    defaultlanguage: str = "en"
    dataDir: str = ""
    spoolDir: str = ""
    soundsDir: str = ""
    runDir: str = ""
    modules: object = None
    extra: dict = field(default_factory=dict)

    _OPTIONS = {"verbose", "debug", "maxcalls", "systemname", "defaultlanguage"}
    _DIRECTORIES = {"astdatadir": "dataDir", "astspooldir": "spoolDir",
                    "astsoundsdir": "soundsDir", "astrundir": "runDir",
                    "astdbdir": "dataDir"}

    def __getitem__(self, key):
        key = {"astdatadir": "dataDir", "astsoundsdir": "soundsDir",
               "astspooldir": "spoolDir", "astrundir": "runDir"}.get(key, key)
        if hasattr(self, key) and not key.startswith("_"):
            return getattr(self, key)
        return self.extra[key]

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    @classmethod
    def fromConfigDir(cls, configDir):
        """
        Read pbx.conf and modules.conf from C{configDir}; raises ConfigError
        (file:line) on a bad value.
        """
        from pbxcore.loader import ModuleSelection

        configDir = os.path.abspath(configDir)
        if not os.path.isdir(configDir):
            raise ConfigError(f"configuration directory {configDir} does not exist",
                              configDir, None)
        parent = os.path.dirname(configDir)
        settings = cls(configDir=configDir,
                       dataDir=os.path.join(parent, "var", "lib"),
                       spoolDir=os.path.join(parent, "var", "spool"),
                       runDir=os.path.join(parent, "var", "run"),
                       soundsDir=os.path.join(configDir, "sounds"))
        conf = loadConfigFile(configDir, "pbx.conf")
        if conf is not None:
            for section in conf.sections:
                name = section.name.lower()
                for entry in section.entries:
                    key = entry.key.lower()
                    if name == "options":
                        if key in ("verbose", "debug"):
                            setattr(settings, key, _int(entry, 0))
                        elif key == "maxcalls":
                            settings.maxcalls = _int(entry, 0) or None
                        elif key in cls._OPTIONS:
                            setattr(settings, key, entry.value)
                        else:
                            settings.extra[key] = entry.value
                    elif name == "directories":
                        attr = cls._DIRECTORIES.get(key)
                        if attr is None:
                            raise ConfigError(f"unknown directory setting {entry.key!r}",
                                              entry.filename, entry.line)
                        # Normalised: logs and the console print /var/lib, not etc/../var/lib.
                        setattr(settings, attr, os.path.normpath(os.path.join(configDir, entry.value.strip())))
                    else:
                        raise ConfigError(f"unknown section [{section.name}]",
                                          section.filename, section.line)
        settings.modules = ModuleSelection.fromConfig(loadConfigFile(configDir, "modules.conf"))
        return settings


def validateConfigDir(configDir):
    """
    Parse every .conf file of C{configDir} and the PBX-wide settings, so that
    a syntax error stops the daemon before anything binds a port. Returns the
    PBXSettings; raises ConfigError naming file:line.
    """
    from pbxcore.http.config import loadHTTPConf
    from pbxcore.loader import discoverDescriptors, ownReaderFiles, validateModuleConfigs

    settings = PBXSettings.fromConfigDir(configDir)
    descriptors = discoverDescriptors()
    ownReaders = ownReaderFiles(descriptors)
    for path in sorted(glob.glob(os.path.join(settings.configDir, "*.conf"))):
        ownReader = ownReaders.get(os.path.basename(path))
        if ownReader is not None:
            ownReader(path)  # extensions.conf: read as Asterisk reads it
        else:
            parseFile(path)
    loadHTTPConf(settings.configDir)
    validateModuleConfigs(settings.configDir, descriptors, settings.modules)
    return settings
