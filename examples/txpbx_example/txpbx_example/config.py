"""
example.conf, parsed into an immutable settings value (pure: no reactor).

Parsing is complete before anything is applied, so a reload with a broken
file keeps the settings in use and reports file:line.
"""

from __future__ import annotations

from dataclasses import dataclass

from pbxcore.api import ConfigError, isFalse, isTrue, parseFile

KEYS = ("node", "rejectheader", "rejectvalue", "t38")


@dataclass(frozen=True)
class ExampleSettings:
    """What res_example does, from the [general] section of example.conf."""

    node: str = "txpbx"
    rejectHeader: str = "X-Block"
    rejectValue: str = "yes"
    t38: bool = False


def parseExampleConf(config) -> ExampleSettings:
    """
    Settings from a parsed example.conf (L{pbxcore.config.Config}); raise
    ConfigError naming file:line for an unknown key or a bad value.
    """
    section = config.section("general")
    if section is None:
        return ExampleSettings()
    values = {}
    for entry in section.entries:
        key = entry.key.lower()
        if key not in KEYS:
            raise ConfigError(f"unknown option {entry.key!r} in [general]",
                              entry.filename, entry.line)
        if key == "t38":
            if not (isTrue(entry.value) or isFalse(entry.value)):
                raise ConfigError(f"t38 must be yes or no, not {entry.value!r}",
                                  entry.filename, entry.line)
            values["t38"] = isTrue(entry.value)
        elif not entry.value.strip():
            raise ConfigError(f"{entry.key} needs a value", entry.filename, entry.line)
        elif key == "node":
            values["node"] = entry.value.strip()
        elif key == "rejectheader":
            values["rejectHeader"] = entry.value.strip()
        else:
            values["rejectValue"] = entry.value.strip()
    return ExampleSettings(**values)


def readExampleConf(path) -> ExampleSettings:
    """Parse the file at C{path}; defaults when it does not exist."""
    import os

    if not os.path.exists(path):
        return ExampleSettings()
    return parseExampleConf(parseFile(path))
