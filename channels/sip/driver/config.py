"""
The C{[general]} section of sip.conf, as far as the SIP transports need it.

Pure: a parsed L{pbxcore.config.Config} goes in, a frozen L{SIPGeneral} comes
out, and every bad value raises L{pbxcore.config.ConfigError} naming the
file and line of the offending entry. Keys this model does not know are not
errors (sip.conf has hundreds); L{unknownGeneralKeys} lists them so the shell
can warn once.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from pbxcore.config import ConfigError, isFalse, isTrue

DEFAULT_SIP_PORT = 5060
DEFAULT_SIPS_PORT = 5061

# Asterisk's defaults, in milliseconds.
DEFAULT_T1MIN = 100
DEFAULT_TIMERT1 = 500

KNOWN_GENERAL_KEYS = frozenset(
    {
        "udpbindaddr",
        "bindaddr",
        "bindport",
        "tcpenable",
        "tcpbindaddr",
        "tlsenable",
        "tlsbindaddr",
        "tlscertfile",
        "tlsprivatekey",
        "tlscafile",
        "tlsverifyclient",
        "tlsdontverifyserver",
        "useragent",
        "t1min",
        "timert1",
        "timerb",
    }
)


@dataclass(frozen=True)
class BindAddress:
    """A host and port to listen on; C{host} is an IP literal without brackets."""

    host: str
    port: int

    def endpointHost(self) -> str:
        """The host escaped for an endpoint-style string (colons quoted)."""
        return self.host.replace(":", "\\:")


@dataclass(frozen=True)
class SIPGeneral:
    """
    The transport settings of sip.conf's C{[general]}. Times are in
    milliseconds, as Asterisk spells them.
    """

    udpBind: BindAddress = BindAddress("0.0.0.0", DEFAULT_SIP_PORT)
    tcpEnable: bool = False
    tcpBind: BindAddress = BindAddress("0.0.0.0", DEFAULT_SIP_PORT)
    tlsEnable: bool = False
    tlsBind: BindAddress = BindAddress("0.0.0.0", DEFAULT_SIPS_PORT)
    tlsCertFile: str | None = None
    tlsPrivateKey: str | None = None
    tlsCaFile: str | None = None
    tlsVerifyClient: bool = False
    tlsDontVerifyServer: bool = False
    userAgent: str = "txpbx"
    t1min: int = DEFAULT_T1MIN
    timerT1: int = DEFAULT_TIMERT1
    timerB: int = 64 * DEFAULT_TIMERT1
    unknownKeys: tuple[tuple[str, str, int], ...] = field(default=(), compare=False)
    #: The [general] entries that are not transport settings, in file order:
    #: the registrar's and the peers' defaults (L{channels.sip.driver.peers}).
    rest: tuple = field(default=(), compare=False, repr=False)

    def listenerSpecs(self) -> list[str]:
        """
        Endpoint-like strings for L{channels.sip.net.transport.SIPTransportLayer.listen}.
        """
        specs = [f"udp:{self.udpBind.port}:interface={self.udpBind.endpointHost()}"]
        if self.tcpEnable:
            specs.append(f"tcp:{self.tcpBind.port}:interface={self.tcpBind.endpointHost()}")
        if self.tlsEnable:
            spec = f"tls:{self.tlsBind.port}:interface={self.tlsBind.endpointHost()}"
            spec += f":certKey={_escape(self.tlsCertFile or '')}"
            spec += f":privateKey={_escape(self.tlsPrivateKey or self.tlsCertFile or '')}"
            if self.tlsCaFile:
                spec += f":caCertsFile={_escape(self.tlsCaFile)}"
            if self.tlsVerifyClient:
                spec += ":verifyClient=yes"
            specs.append(spec)
        return specs

    def bindings(self) -> tuple:
        """What changing needs a restart: the sockets to listen on."""
        return tuple(self.listenerSpecs())


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def _error(entry, message: str) -> ConfigError:
    return ConfigError(message, entry.filename, entry.line)


def parseHostPort(value: str, defaultPort: int) -> tuple[str, int]:
    """
    Parse C{host}, C{host:port}, C{[v6]} or C{[v6]:port}; the host must be an
    IP literal (listeners bind addresses, not names). Raise ValueError.
    """
    value = value.strip()
    if not value:
        raise ValueError("empty address")
    port: int | None = None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise ValueError(f"unterminated '[' in {value!r}")
        host = value[1:end]
        rest = value[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"unexpected {rest!r} after ']'")
            port = _parsePort(rest[1:])
    elif value.count(":") == 1:
        host, _, portText = value.partition(":")
        port = _parsePort(portText)
    else:
        # Plain IPv4 or an unbracketed IPv6 literal without a port.
        host = value
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address") from None
    return host, defaultPort if port is None else port


def _parsePort(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"bad port {text!r}")
    port = int(text)
    if port > 65535:
        raise ValueError(f"port {port} out of range")
    return port


def _bool(entry) -> bool:
    if isTrue(entry.value):
        return True
    if isFalse(entry.value):
        return False
    raise _error(entry, f"{entry.key}: expected yes or no, got {entry.value!r}")


def _millis(entry, minimum: int = 1) -> int:
    text = entry.value.strip()
    if not text.isdigit() or int(text) < minimum:
        raise _error(entry, f"{entry.key}: expected a whole number of milliseconds >= {minimum}, got {entry.value!r}")
    return int(text)


def _path(entry) -> str:
    value = entry.value.strip()
    if not value:
        raise _error(entry, f"{entry.key}: empty file name")
    if not os.path.isabs(value) and entry.filename and not entry.filename.startswith("<"):
        value = os.path.join(os.path.dirname(os.path.abspath(entry.filename)), value)
    return value


def _bind(entry, defaultPort: int) -> BindAddress:
    try:
        host, port = parseHostPort(entry.value, defaultPort)
    except ValueError as e:
        raise _error(entry, f"{entry.key}: {e}") from None
    return BindAddress(host, port)


def parseGeneral(config) -> SIPGeneral:
    """
    Build the L{SIPGeneral} of a parsed sip.conf (a L{pbxcore.config.Config});
    a missing C{[general]} gives the defaults. The last value of a key wins.
    """
    section = config.section("general") if config is not None else None
    if section is None:
        return SIPGeneral()
    values: dict = {}
    unknown = []
    rest = []
    udpbind = bindaddr = bindport = None
    tcpbind = tlsbind = None
    t1minEntry = timert1Entry = timerbEntry = None
    for entry in section.entries:
        key = entry.key.strip().lower()
        if key == "udpbindaddr":
            udpbind = entry
        elif key == "bindaddr":
            bindaddr = entry
        elif key == "bindport":
            bindport = entry
        elif key == "tcpenable":
            values["tcpEnable"] = _bool(entry)
        elif key == "tcpbindaddr":
            tcpbind = entry
        elif key == "tlsenable":
            values["tlsEnable"] = _bool(entry)
        elif key == "tlsbindaddr":
            tlsbind = entry
        elif key == "tlscertfile":
            values["tlsCertFile"] = _path(entry)
        elif key == "tlsprivatekey":
            values["tlsPrivateKey"] = _path(entry)
        elif key == "tlscafile":
            values["tlsCaFile"] = _path(entry)
        elif key == "tlsverifyclient":
            values["tlsVerifyClient"] = _bool(entry)
        elif key == "tlsdontverifyserver":
            values["tlsDontVerifyServer"] = _bool(entry)
        elif key == "useragent":
            values["userAgent"] = entry.value.strip() or "txpbx"
        elif key == "t1min":
            t1minEntry = entry
        elif key == "timert1":
            timert1Entry = entry
        elif key == "timerb":
            timerbEntry = entry
        else:
            unknown.append((entry.key, entry.filename, entry.line))
            rest.append(entry)

    # Port first: bindaddr without a port takes bindport (Asterisk's order).
    defaultUdpPort = DEFAULT_SIP_PORT
    if bindport is not None:
        try:
            defaultUdpPort = _parsePort(bindport.value.strip())
        except ValueError as e:
            raise _error(bindport, f"bindport: {e}") from None
    if udpbind is not None:
        values["udpBind"] = _bind(udpbind, defaultUdpPort)
    elif bindaddr is not None:
        values["udpBind"] = _bind(bindaddr, defaultUdpPort)
    elif bindport is not None:
        values["udpBind"] = BindAddress("0.0.0.0", defaultUdpPort)
    if tcpbind is not None:
        values["tcpBind"] = _bind(tcpbind, DEFAULT_SIP_PORT)
    if tlsbind is not None:
        values["tlsBind"] = _bind(tlsbind, DEFAULT_SIPS_PORT)

    values.update(_timers(t1minEntry, timert1Entry, timerbEntry))

    general = SIPGeneral(unknownKeys=tuple(unknown), rest=tuple(rest), **values)
    if general.tlsEnable and not general.tlsCertFile:
        where = next(e for e in section.entries if e.key.strip().lower() == "tlsenable")
        raise _error(where, "tlsenable: TLS needs tlscertfile")
    return general


def _timers(t1minEntry, timert1Entry, timerbEntry) -> dict:
    """t1min, timert1 and timerb (milliseconds), each checked against the one before."""
    t1min = _millis(t1minEntry) if t1minEntry is not None else DEFAULT_T1MIN
    timert1 = DEFAULT_TIMERT1
    if timert1Entry is not None:
        timert1 = _millis(timert1Entry)
        if timert1 < t1min:
            raise _error(timert1Entry, f"timert1: {timert1} is below t1min ({t1min})")
    timerb = 64 * timert1
    if timerbEntry is not None:
        timerb = _millis(timerbEntry)
        if timerb < timert1:
            raise _error(timerbEntry, f"timerb: {timerb} is below timert1 ({timert1})")
    return {"t1min": t1min, "timerT1": timert1, "timerB": timerb}


def unknownGeneralKeys(general: SIPGeneral) -> list[str]:
    """'file:line: key' for each key of [general] this model ignores."""
    return [f"{filename}:{line}: {key}" for key, filename, line in general.unknownKeys]
