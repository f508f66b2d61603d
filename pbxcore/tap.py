"""
C{twistd pbx}: options and the service maker. The whole configuration is
parsed and validated in postOptions, before anything binds a port.
"""

import sys

from twisted.python import usage

from pbxcore.config import ConfigError


class Options(usage.Options):
    synopsis = "[-c DIR]"
    longdesc = (
        "Run the txpbx PBX. The configuration directory holds the Asterisk-style "
        ".conf files (pbx.conf, modules.conf, extensions.conf, sip.conf, "
        "manager.conf, ...). SIGHUP reloads the configuration; SIGTERM stops cleanly."
    )
    optParameters = [
        ["config", "c", "etc", "Configuration directory."],
    ]

    def postOptions(self):
        from pbxcore.settings import validateConfigDir

        try:
            self.settings = validateConfigDir(self["config"])
        except ConfigError as e:
            # One line, no traceback, non-zero exit: usage.error would print
            # the whole --help text first.
            sys.stderr.write(f"{e}\n")
            raise SystemExit(1)


def makeService(options):
    from pbxcore.service import PBXService

    return PBXService(options["config"], settings=options.settings,
                      installSignalHandlers=True)
