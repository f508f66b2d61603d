"""
Where a SIP message came from or goes to; shared by the transports and the
transaction layer.
"""

from dataclasses import dataclass, field

RELIABLE = frozenset({"TCP", "TLS", "WS", "WSS", "SCTP"})


@dataclass(frozen=True)
class Address:
    """
    A transport address. C{connection} is the stream connection a message
    arrived on (None for UDP): responses go back on it while it is open.
    """

    transport: str
    host: str
    port: int
    connection: object = field(default=None, compare=False, hash=False, repr=False)

    @property
    def reliable(self) -> bool:
        return self.transport.upper() in RELIABLE

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"{self.transport.lower()}:{host}:{self.port}"
