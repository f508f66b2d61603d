"""
Our own address towards a destination: the one resolver behind every Via
sent-by, Contact and SDP connection address the stack writes (sessions,
subscriptions, the peers service, qualify, outbound registration, MESSAGE).

The listening socket of the destination's transport gives host and port; a
wildcard bind (0.0.0.0, ::) is narrowed to the address the kernel would
send from (a connected UDP socket, no packet sent). Answers are kept per
(transport, host) until L{LocalAddresses.clear} (a reload).
"""

from __future__ import annotations

import socket

from channels.sip.net.address import contactValue, hostText, viaSentBy
from channels.sip.wire.via import isIPLiteral

__all__ = ["LocalAddresses", "addressesOf"]

#: Cached answers at most; past it the cache starts again.
CACHE_SIZE = 1024


class LocalAddresses:
    """The local-address resolver of one SIP stack."""

    def __init__(self, stack):
        self.stack = stack
        self._cache: dict[tuple[str, str], tuple[str, int]] = {}

    def clear(self) -> None:
        self._cache.clear()

    def localAddress(self, destination) -> tuple[str, int]:
        """Our (host, port) for sending to C{destination}."""
        local = getattr(getattr(destination, "connection", None), "localAddress", None)
        if local is not None and destination.transport.upper() in ("WS", "WSS"):
            return local        # the HTTP server's address the browser connected to
        key = (destination.transport, destination.host)
        cached = self._cache.get(key)
        if cached is None:
            if len(self._cache) > CACHE_SIZE:
                self._cache.clear()
            cached = self._cache[key] = self._find(destination)
        return cached

    def _find(self, destination) -> tuple[str, int]:
        transport = destination.transport.upper()
        wanted = "UDP" if transport == "UDP" else "TCP"
        host, port = None, None
        for listening in getattr(self.stack, "listening", ()):
            try:
                address = listening.getHost()
            except Exception:
                continue
            kind = getattr(address, "type", "")
            if kind == wanted or (transport == "TLS" and kind == "TCP"):
                host, port = address.host, address.port
                if transport != "TLS" or port != 5060:
                    break
        if host is None:
            general = getattr(self.stack, "general", None)
            if general is None:
                return "127.0.0.1", 5060
            bind = general.udpBind if transport == "UDP" else (
                general.tlsBind if transport == "TLS" else general.tcpBind)
            host, port = bind.host, bind.port
        if host in ("0.0.0.0", "::", ""):
            host = routeSource(destination.host) or ("127.0.0.1" if host != "::" else "::1")
        return host, port

    def viaFor(self, destination) -> str:
        """Our Via value without parameters (C{SIP/2.0/UDP host:port})."""
        return viaSentBy(destination.transport, *self.localAddress(destination))

    def contactFor(self, destination, user: str = "asterisk") -> str:
        return contactValue(user, destination.transport, *self.localAddress(destination))

    def hostText(self, destination) -> str:
        """Our host as written in a URI (IPv6 in brackets)."""
        return hostText(self.localAddress(destination)[0])

    def mediaAddress(self, destination) -> str:
        """The host our SDP names for media towards C{destination}."""
        return self.localAddress(destination)[0]


def addressesOf(stack) -> LocalAddresses:
    """The stack's resolver (made on first use for stacks built without one)."""
    addresses = getattr(stack, "addresses", None)
    if addresses is None:
        addresses = LocalAddresses(stack)
        try:
            stack.addresses = addresses
        except AttributeError:
            pass
    return addresses


def routeSource(host: str) -> str | None:
    """The local address the kernel would use towards C{host} (no packet is sent)."""
    if not isIPLiteral(host):
        return None
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_DGRAM)
        try:
            s.connect((host.strip("[]"), 9))
            return s.getsockname()[0]
        finally:
            s.close()
    except (OSError, ValueError):
        return None
