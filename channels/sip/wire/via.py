"""
Via stamping and response routing (RFC 3261 §18.2.1, §18.2.2, RFC 3581):
pure functions of a message and the address it came from. The transport
shell (L{channels.sip.net.transport}) calls them for every request it
reads and every response it sends.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from channels.sip.wire.headers import splitValues

__all__ = ["DEFAULT_PORTS", "isIPLiteral", "routeResponse", "replaceTopVia", "stampVia",
           "stampRoute", "routeRaw", "forceRport", "bareHost"]

DEFAULT_PORTS = {"UDP": 5060, "TCP": 5060, "TLS": 5061}

def isIPLiteral(host: str) -> bool:
    """Whether C{host} is an IPv4 or IPv6 literal (brackets allowed)."""
    if host.startswith("["):
        host = host[1:-1] if host.endswith("]") else host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        socket.inet_pton(family, host)
    except (OSError, ValueError):
        return False
    return True


def _bare(host: str) -> str:
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _sameHost(viaHost: str, sourceHost: str) -> bool:
    viaHost = _bare(viaHost)
    if viaHost == sourceHost:
        return True
    try:
        return ipaddress.ip_address(viaHost) == ipaddress.ip_address(sourceHost)
    except ValueError:
        return False


def routeResponse(via, arrival: str) -> tuple[str, str, int]:
    """
    Where RFC 3261 §18.2.2 sends a response whose top Via is C{via}, for a
    request that arrived over C{arrival}: (transport, host, port). Stream
    transports try the request's connection before this.
    """
    transport = arrival.upper()
    default = DEFAULT_PORTS.get(transport, 5060)
    if transport in ("TCP", "TLS"):
        host = via.received or via.host
        return transport, _bare(host), via.port or default
    maddr = via.maddr
    if maddr:
        return transport, _bare(maddr), via.port or default
    host = _bare(via.received or via.host)
    try:
        rport = via.rport
    except ValueError:
        rport = None
    if isinstance(rport, int) and not isinstance(rport, bool):
        return transport, host, rport
    return transport, host, via.port or default


# One Via value with a plain host: the per-packet fast path. Anything else
# (lists, odd spacing, quoted parameters) takes the general path.
_SIMPLE_VIA = re.compile(
    r"SIP/2\.0/([A-Za-z]+) ([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?((?:;[A-Za-z0-9.\-_!%*+`'~]+(?:=[^;,\"\s]*)?)*)\Z"
)


def _simpleVia(raw: str):
    """(host, port or None, [(name, value or None)]) of a simple Via value, or None."""
    match = _SIMPLE_VIA.match(raw)
    if match is None:
        return None
    params = []
    for param in match.group(4).split(";")[1:]:
        name, eq, value = param.partition("=")
        params.append((name, value if eq else None))
    port = match.group(3)
    return match.group(2), int(port) if port else None, params


def routeRaw(raw: str, arrival: str):
    """L{routeResponse} straight from a simple raw Via value, or None."""
    simple = _simpleVia(raw)
    if simple is None:
        return None
    host, port, params = simple
    return _routeParsed(host, port, params, arrival)


def _routeParsed(host: str, port, params, arrival: str):
    """L{routeResponse} from the pieces of a simple Via (see L{_simpleVia})."""
    received = maddr = rport = None
    for name, value in params:
        lname = name.lower()
        if lname == "received":
            received = value
        elif lname == "rport":
            rport = value
        elif lname == "maddr":
            maddr = value
    transport = arrival.upper()
    port = port or DEFAULT_PORTS.get(transport, 5060)
    if transport in ("TCP", "TLS"):
        return transport, _bare(received or host), port
    if maddr:
        return transport, _bare(maddr), port
    host = _bare(received or host)
    if rport and rport.isdigit() and int(rport) <= 65535:
        return transport, host, int(rport)
    return transport, host, port


def replaceTopVia(message, via) -> None:
    """Put C{via} in place of the top Via value of C{message}."""
    headers = message.headers
    lines = headers.rawValues("Via")
    if not lines:
        headers.prepend("Via", str(via))
        return
    elements = splitValues(lines[0])
    elements[0] = str(via)
    first = ", ".join(elements)
    if len(lines) == 1:
        headers.set("Via", first)
        return
    index = next(i for i, (name, _) in enumerate(headers.items()) if name.lower() == "via")
    headers.set("Via", first)
    for offset, line in enumerate(lines[1:], 1):
        headers.insert(index + offset, "Via", line)


def stampVia(request, host: str, port: int) -> None:
    """
    RFC 3261 §18.2.1 and RFC 3581: add C{received} when the sent-by host is
    not the packet's source address, fill a valueless C{rport} (and then
    always add C{received}).
    """
    stampRoute(request, host, port, "UDP")


def stampRoute(request, host: str, port: int, arrival: str):
    """
    L{stampVia}, returning what answering needs when the top Via is simple:
    (the stamped Via value, the response route or None when the route is
    the packet's source itself). None for any other Via.
    """
    headers = request.headers
    raw = headers.get("Via")
    if raw is None:
        return None
    simple = _simpleVia(raw) if headers.count("Via") == 1 else None
    if simple is not None:
        viaHost, viaPort, params = simple
        bareRport = False
        for n, v in params:
            if v is None and n.lower() == "rport":
                bareRport = True
                break
        if bareRport or not _sameHost(viaHost, host):
            out = [raw[: raw.index(";")] if params else raw]
            stamped = []
            for name, value in params:
                lname = name.lower()
                if lname == "received":
                    continue
                if lname == "rport" and value is None:
                    value = str(port)
                stamped.append((name, value))
                out.append(name if value is None else f"{name}={value}")
            out.append(f"received={host}")
            stamped.append(("received", host))
            raw = ";".join(out)
            headers.set("Via", raw)
            params = stamped
        route = _routeParsed(viaHost, viaPort, params, arrival)
        if route[1] == host and route[2] == port and route[0] == arrival:
            route = None
        return raw, route
    via = request.topVia
    if via is None:
        return None
    rport = via.rport
    if rport is True:
        replaceTopVia(request, via.withParams(received=host, rport=str(port)))
    elif not _sameHost(via.host, host):
        replaceTopVia(request, via.withParams(received=host))
    return None


def forceRport(request, host: str, port: int) -> bool:
    """
    chan_sip's C{nat = force_rport}: answer to the packet's source port even
    when the top Via offered no C{rport} (a valued one is left alone).
    True when the Via was rewritten.
    """
    via = request.topVia
    if via is None:
        return False
    rport = via.rport  # parsed on each access: read once
    if rport is not None and rport is not True:
        return False
    replaceTopVia(request, via.withParams(received=host, rport=str(port)))
    return True


bareHost = _bare
