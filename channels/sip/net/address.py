"""
Where a SIP message came from or goes to; shared by the transports and the
transaction layer.
"""

from dataclasses import dataclass, field

RELIABLE = frozenset({"TCP", "TLS", "WS", "WSS", "SCTP"})


@dataclass(frozen=True, slots=True)
class Address:
    """
    A transport address. C{connection} is the stream connection a message
    arrived on (None for UDP): responses go back on it while it is open.

    C{route} is the transport's memo for the request that arrived from this
    address: its stamped top Via value and where RFC 3261 §18.2.2 sends the
    responses that carry it, so that answering does not parse the Via again.
    Like C{connection} it takes no part in comparison or hashing, and it is
    only a cache: without it a response is routed by its Via as usual.

    Every binding and transaction holds one: slots keep it small.
    """

    transport: str
    host: str
    port: int
    connection: object = field(default=None, compare=False, hash=False, repr=False)
    route: tuple | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def reliable(self) -> bool:
        return self.transport.upper() in RELIABLE

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"{self.transport.lower()}:{host}:{self.port}"

    def forgetRoute(self) -> None:
        """
        Drop the route memo once nothing will answer from this address any
        more: whatever keeps the address (a registration binding) does not
        keep the request's Via alive with it.
        """
        object.__setattr__(self, "route", None)


def hostText(host: str) -> str:
    """A host as it appears in a URI or a Via: IPv6 literals in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def viaSentBy(transport: str, host: str, port: int) -> str:
    """Our Via value without parameters: C{SIP/2.0/UDP host:port}."""
    return f"SIP/2.0/{transport.upper()} {hostText(host)}:{port}"


def contactValue(user: str, transport: str, host: str, port: int) -> str:
    """Our Contact: C{<sip:user@host:port>}, naming the transport unless UDP."""
    transport = transport.upper()
    param = "" if transport == "UDP" else f";transport={transport.lower()}"
    return f"<sip:{user}@{hostText(host)}:{port}{param}>"
