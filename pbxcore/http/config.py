"""
http.conf, pure: Asterisk's keys of C{[general]} turned into a frozen
L{HTTPSettings}. Every error names file:line.

Asterisk's keys: C{enabled} (default no), C{bindaddr}, C{bindport} (8088),
C{prefix}, C{sessionlimit} (100), C{session_inactivity} (ms, 30000),
C{session_keep_alive} (ms, 15000), C{servername}, C{tlsenable},
C{tlsbindaddr} (C{host[:port]}, port 8089), C{tlscertfile},
C{tlsprivatekey}, and, accepted but not used, C{enablestatic}, C{redirect},
C{tlscipher}, C{tlscafile}, C{tlscapath}, C{tlsdisablev1}, C{tlsdisablev11},
C{tlsdisablev12}, C{tlsservercipherorder}. Other sections
(C{[post_mappings]}) are accepted and ignored.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from pbxcore.config import ConfigError, isFalse, isTrue

DEFAULT_PORT = 8088
DEFAULT_TLS_PORT = 8089
DEFAULT_SESSION_LIMIT = 100
DEFAULT_INACTIVITY_MS = 30000
DEFAULT_KEEPALIVE_MS = 15000

_IGNORED = frozenset({
    "enablestatic", "redirect", "tlscipher", "tlscafile", "tlscapath", "tlsdisablev1",
    "tlsdisablev11", "tlsdisablev12", "tlsservercipherorder", "sslcipher", "sslcafile",
    "sslcapath",
})
_KNOWN = frozenset({
    "enabled", "bindaddr", "bindport", "prefix", "sessionlimit", "session_inactivity",
    "session_keep_alive", "servername", "tlsenable", "tlsbindaddr", "tlscertfile",
    "tlsprivatekey", "sslenable", "sslbindaddr", "sslcert", "sslprivatekey",
}) | _IGNORED
_ALIASES = {"sslenable": "tlsenable", "sslbindaddr": "tlsbindaddr", "sslcert": "tlscertfile",
            "sslprivatekey": "tlsprivatekey"}


@dataclass(frozen=True)
class HTTPSettings:
    """The whole of http.conf's [general]."""

    enabled: bool = False
    bindAddr: str = "0.0.0.0"
    bindPort: int = DEFAULT_PORT
    prefix: str = ""
    sessionLimit: int = DEFAULT_SESSION_LIMIT
    sessionInactivity: float = DEFAULT_INACTIVITY_MS / 1000.0
    sessionKeepAlive: float = DEFAULT_KEEPALIVE_MS / 1000.0
    serverName: str = "txpbx"
    tlsEnable: bool = False
    tlsBindAddr: str = "0.0.0.0"
    tlsBindPort: int = DEFAULT_TLS_PORT
    tlsCertFile: str | None = None
    tlsPrivateKey: str | None = None


def _bool(entry) -> bool:
    if isTrue(entry.value):
        return True
    if isFalse(entry.value) or not entry.value.strip():
        return False
    raise ConfigError(f"{entry.key} must be yes or no, not {entry.value!r}",
                      entry.filename, entry.line)


def _int(entry, low: int, high: int) -> int:
    text = entry.value.strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise ConfigError(f"{entry.key} must be a whole number from {low} to {high}, "
                          f"not {entry.value!r}", entry.filename, entry.line)
    return int(text)


def _address(entry) -> str:
    text = entry.value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ConfigError(f"{entry.key} must be an IP address, not {entry.value!r}",
                          entry.filename, entry.line) from None


def _addressAndPort(entry, defaultPort: int) -> tuple[str, int]:
    """C{host}, C{host:port}, C{[v6]}, C{[v6]:port}."""
    text = entry.value.strip()
    host, port = text, None
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise ConfigError(f"{entry.key}: unclosed '[' in {entry.value!r}",
                              entry.filename, entry.line)
        host, rest = text[1:close], text[close + 1:]
        if rest.startswith(":"):
            port = rest[1:]
        elif rest:
            raise ConfigError(f"{entry.key}: cannot read {entry.value!r}",
                              entry.filename, entry.line)
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        raise ConfigError(f"{entry.key} must be an IP address with an optional port, "
                          f"not {entry.value!r}", entry.filename, entry.line) from None
    if port is None:
        return host, defaultPort
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{entry.key}: bad port {port!r}", entry.filename, entry.line)
    return host, int(port)


def _file(entry, configDir: str | None) -> str:
    path = entry.value.strip()
    if configDir and not os.path.isabs(path):
        path = os.path.join(configDir, path)
    return path


def fromConfig(config, configDir: str | None = None) -> HTTPSettings:
    """
    L{HTTPSettings} from a parsed http.conf. C{configDir} resolves relative
    certificate paths (default: the file's own folder). Raises ConfigError.
    """
    section = config.section("general")
    if section is None:
        return HTTPSettings()
    values: dict = {}
    where: dict = {}
    for entry in section.entries:
        key = _ALIASES.get(entry.key.lower(), entry.key.lower())
        if key not in _KNOWN:
            raise ConfigError(f"unknown http.conf option {entry.key!r}", entry.filename,
                              entry.line)
        where[key] = entry
        if configDir is None and entry.filename and not entry.filename.startswith("<"):
            configDir = os.path.dirname(os.path.abspath(entry.filename))
        if key in ("enabled", "tlsenable"):
            values[key] = _bool(entry)
        elif key == "bindaddr":
            values["bindAddr"] = _address(entry)
        elif key == "bindport":
            values["bindPort"] = _int(entry, 0, 65535)
        elif key == "prefix":
            values["prefix"] = "/".join(s for s in entry.value.strip().split("/") if s)
        elif key == "sessionlimit":
            values["sessionLimit"] = _int(entry, 1, 1000000)
        elif key == "session_inactivity":
            values["sessionInactivity"] = _int(entry, 0, 86400000) / 1000.0
        elif key == "session_keep_alive":
            values["sessionKeepAlive"] = _int(entry, 0, 86400000) / 1000.0
        elif key == "servername":
            values["serverName"] = entry.value.strip()
        elif key == "tlsbindaddr":
            values["tlsBindAddr"], values["tlsBindPort"] = _addressAndPort(
                entry, DEFAULT_TLS_PORT)
        elif key == "tlscertfile":
            values["tlsCertFile"] = _file(entry, configDir)
        elif key == "tlsprivatekey":
            values["tlsPrivateKey"] = _file(entry, configDir)
    settings = HTTPSettings(enabled=values.pop("enabled", False),
                            tlsEnable=values.pop("tlsenable", False), **values)
    if settings.enabled and settings.tlsEnable:
        _checkTLS(settings, where, section)
    return settings


def _checkTLS(settings: HTTPSettings, where: dict, section) -> None:
    if not settings.tlsCertFile:
        entry = where["tlsenable"]
        raise ConfigError("tlsenable = yes needs tlscertfile", entry.filename, entry.line)
    for key, path in (("tlscertfile", settings.tlsCertFile),
                      ("tlsprivatekey", settings.tlsPrivateKey)):
        if path and not os.path.isfile(path):
            entry = where[key]
            raise ConfigError(f"{key}: {path} does not exist", entry.filename, entry.line)


def loadHTTPConf(configDir: str) -> HTTPSettings:
    """http.conf of C{configDir}: disabled settings when the file is absent."""
    from pbxcore.config import parseFile

    path = os.path.join(configDir, "http.conf")
    if not os.path.exists(path):
        return HTTPSettings()
    return fromConfig(parseFile(path), configDir)
