"""
ari.conf, pure: Asterisk's keys turned into frozen settings.

C{[general]}: C{enabled} (default yes), C{pretty} (indented JSON),
C{allowed_origins} (comma list for CORS; C{*} allows any),
C{websocket_write_timeout} (ms, default 100: how long an events
WebSocket may stay backed up before it is closed). Each other section is a user
with C{type = user}, C{read_only}, C{password} and C{password_format}
(C{plain} or C{crypt}, a crypt(3) hash as C{mkpasswd -m sha-512} makes).
"""

from __future__ import annotations

import hmac
import warnings
from dataclasses import dataclass, field

from pbxcore.config import ConfigError, isFalse, isTrue

_GENERAL = frozenset({"enabled", "pretty", "allowed_origins", "websocket_write_timeout",
                      "channelvars"})
_USER = frozenset({"type", "read_only", "password", "password_format"})


@dataclass(frozen=True)
class AriUser:
    name: str
    password: str = ""
    passwordFormat: str = "plain"
    readOnly: bool = False

    def checkPassword(self, password: str) -> bool:
        if not self.password:
            return False
        if self.passwordFormat == "crypt":
            hashed = _crypt(password, self.password)
            return hashed is not None and hmac.compare_digest(hashed, self.password)
        return hmac.compare_digest(password.encode("utf-8"), self.password.encode("utf-8"))


@dataclass(frozen=True)
class AriSettings:
    enabled: bool = True
    pretty: bool = False
    allowedOrigins: tuple = ()
    users: dict = field(default_factory=dict)
    #: Seconds a WebSocket may stay unable to take more data before it is closed.
    writeTimeout: float = 0.1

    def user(self, name: str) -> AriUser | None:
        return self.users.get(name)

    def originAllowed(self, origin: str) -> bool:
        return "*" in self.allowedOrigins or origin in self.allowedOrigins


def _crypt(password: str, salt: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt
        except ImportError:  # Python 3.13 has no crypt module
            return None
    try:
        return crypt.crypt(password, salt)
    except (OSError, ValueError):
        return None


def _bool(entry) -> bool:
    if isTrue(entry.value):
        return True
    if isFalse(entry.value):
        return False
    raise ConfigError(f"{entry.key} must be yes or no, not {entry.value!r}",
                      entry.filename, entry.line)


def _user(section) -> AriUser:
    values = {"name": section.name}
    kind = None
    for entry in section.entries:
        key = entry.key.lower()
        if key not in _USER:
            raise ConfigError(f"unknown ari.conf user option {entry.key!r}", entry.filename,
                              entry.line)
        if key == "type":
            kind = entry.value.strip().lower()
            if kind != "user":
                raise ConfigError(f"type must be user, not {entry.value!r}", entry.filename,
                                  entry.line)
        elif key == "read_only":
            values["readOnly"] = _bool(entry)
        elif key == "password":
            values["password"] = entry.value.strip()
        elif key == "password_format":
            fmt = entry.value.strip().lower()
            if fmt not in ("plain", "crypt"):
                raise ConfigError(f"password_format must be plain or crypt, not {entry.value!r}",
                                  entry.filename, entry.line)
            if fmt == "crypt" and _crypt("x", "$6$salt") is None:
                raise ConfigError("password_format = crypt needs Python's crypt module",
                                  entry.filename, entry.line)
            values["passwordFormat"] = fmt
    if kind is None:
        raise ConfigError(f"[{section.name}] needs type = user", section.filename, section.line)
    return AriUser(**values)


def fromConfig(config) -> AriSettings:
    """L{AriSettings} from a parsed ari.conf; ConfigError names file:line."""
    enabled, pretty, origins, writeTimeout = True, False, (), 0.1
    users = {}
    for section in config.sections:
        if section.name.lower() == "general":
            for entry in section.entries:
                key = entry.key.lower()
                if key not in _GENERAL:
                    raise ConfigError(f"unknown ari.conf option {entry.key!r}", entry.filename,
                                      entry.line)
                if key == "enabled":
                    enabled = _bool(entry)
                elif key == "pretty":
                    pretty = _bool(entry)
                elif key == "allowed_origins":
                    origins = tuple(o.strip() for o in entry.value.split(",") if o.strip())
                elif key == "websocket_write_timeout":
                    text = entry.value.strip()
                    if not text.isdigit() or int(text) < 1:
                        raise ConfigError(f"websocket_write_timeout must be a number of "
                                          f"milliseconds, not {entry.value!r}",
                                          entry.filename, entry.line)
                    writeTimeout = int(text) / 1000.0
        else:
            users[section.name] = _user(section)
    return AriSettings(enabled=enabled, pretty=pretty, allowedOrigins=origins, users=users,
                       writeTimeout=writeTimeout)
