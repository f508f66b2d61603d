"""
Brute-force protection, pure: failed authentications counted per source
address and per account; a source with C{failures} failures within
C{window} seconds is blocked for C{blockTime} seconds, doubled at each new
block of the same source (up to C{maxBlockTime}); addresses matching the
C{exempt} rules are never blocked.

Used by the SIP digest authenticator (REGISTER and INVITE), the manager
login and the HTTP server's basic authentication. Nothing here knows about
sockets or the reactor: every call takes the current time C{now} (seconds)
and the shells answer a blocked source exactly as they answer a wrong
password, so that a blocked guesser cannot tell right from wrong.

The tables are bounded: entries older than the window (and blocks that
ended long ago) are pruned, and at most C{maxEntries} sources are tracked
(the oldest dropped first), so a flood of forged addresses cannot grow
memory.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

__all__ = ["GuardSettings", "AuthGuard", "Block", "parseGuardKey", "GUARD_KEYS"]

#: The configuration keys (sip.conf, manager.conf, http.conf [general]).
GUARD_KEYS = ("authfailures", "authfailurewindow", "authblocktime", "authblockmax", "authpermit")


@dataclass(frozen=True)
class GuardSettings:
    failures: int = 10          # failures before a block (0 = protection off)
    window: float = 60.0        # seconds the failures are counted over
    blockTime: float = 60.0     # the first block; doubled at each new block
    maxBlockTime: float = 3600.0
    exempt: tuple = ()          # networks never blocked

    def exempts(self, host: str) -> bool:
        if not self.exempt:
            return False
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address.version == n.version and address in n for n in self.exempt)


def parseGuardKey(values: dict, key: str, value: str) -> None:
    """
    Apply one configuration line (C{key} lower-cased) to C{values}, the
    keyword arguments of L{GuardSettings}; raise ValueError with the reason.
    """
    value = value.strip()
    if key == "authpermit":
        text = value[1:] if value.startswith("!") else value
        try:
            network = ipaddress.ip_network(text.strip().strip("[]"), strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not an address or network") from None
        values["exempt"] = tuple(values.get("exempt", ())) + (network,)
        return
    names = {"authfailures": "failures", "authfailurewindow": "window",
             "authblocktime": "blockTime", "authblockmax": "maxBlockTime"}
    if key not in names:
        raise ValueError(f"unknown key {key!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{key} must be a number, not {value!r}") from None
    if number < 0 or number != number or number in (float("inf"),):
        raise ValueError(f"{key} must be zero or more, not {value!r}")
    if key == "authfailures":
        if number != int(number):
            raise ValueError(f"authfailures must be a whole number, not {value!r}")
        number = int(number)
    values[names[key]] = number


@dataclass
class Block:
    host: str
    since: float
    until: float
    level: int               # how many blocks this source had (1 = first)
    accounts: tuple = ()     # the accounts it tried


@dataclass
class _Source:
    failures: list = field(default_factory=list)   # times of recent failures
    accounts: dict = field(default_factory=dict)   # account -> failures
    level: int = 0
    blockedUntil: float = 0.0
    blockedSince: float = 0.0
    lastSeen: float = 0.0


class AuthGuard:
    """Failure counts and blocks for one service (SIP, AMI, HTTP)."""

    def __init__(self, settings: GuardSettings | None = None, maxEntries: int = 100000):
        self.settings = settings or GuardSettings()
        self.maxEntries = maxEntries
        self._sources: dict[str, _Source] = {}
        self._accounts: dict[str, list] = {}
        self.blocksMade = 0

    def configure(self, settings: GuardSettings) -> None:
        self.settings = settings

    @property
    def enabled(self) -> bool:
        return self.settings.failures > 0

    def isBlocked(self, host: str, now: float) -> bool:
        """Whether C{host} is blocked now (never for an exempt address)."""
        source = self._sources.get(host)
        if source is None or source.blockedUntil <= now:
            return False
        return not self.settings.exempts(host)

    def failed(self, host: str, account: str | None, now: float) -> Block | None:
        """
        Count a failed authentication; the new L{Block} when this failure
        blocks the source, else None.
        """
        settings = self.settings
        if not self.enabled or settings.exempts(host):
            return None
        source = self._source(host, now)
        horizon = now - settings.window
        source.failures = [t for t in source.failures if t > horizon]
        source.failures.append(now)
        if account:
            source.accounts[account] = source.accounts.get(account, 0) + 1
            if len(source.accounts) > 64:
                source.accounts.pop(next(iter(source.accounts)))
            times = self._accounts.setdefault(account, [])
            times[:] = [t for t in times if t > horizon]
            times.append(now)
            if len(self._accounts) > self.maxEntries:
                self._accounts.pop(next(iter(self._accounts)))
        if source.blockedUntil > now or len(source.failures) < settings.failures:
            return None
        source.level += 1
        duration = min(settings.blockTime * (2 ** (source.level - 1)), settings.maxBlockTime)
        source.blockedSince = now
        source.blockedUntil = now + duration
        source.failures = []
        self.blocksMade += 1
        return Block(host, now, source.blockedUntil, source.level, tuple(source.accounts))

    def succeeded(self, host: str, account: str | None, now: float) -> None:
        """A successful authentication clears the source's failure count."""
        source = self._sources.get(host)
        if source is not None and source.blockedUntil <= now:
            source.failures = []
            source.accounts.clear()

    def accountFailures(self, account: str, now: float) -> int:
        """Failures against C{account} from any source within the window."""
        horizon = now - self.settings.window
        return sum(1 for t in self._accounts.get(account, ()) if t > horizon)

    def blocks(self, now: float) -> list[Block]:
        """The sources blocked now, soonest to end first."""
        self.prune(now)
        found = [Block(host, s.blockedSince, s.blockedUntil, s.level, tuple(s.accounts))
                 for host, s in self._sources.items() if s.blockedUntil > now]
        return sorted(found, key=lambda b: (b.until, b.host))

    def unblock(self, host: str | None = None) -> int:
        """Lift the block of C{host} (all blocks with None); how many were lifted."""
        if host is None:
            count = sum(1 for s in self._sources.values() if s.blockedUntil > 0)
            self._sources.clear()
            self._accounts.clear()
            return count
        source = self._sources.pop(host, None)
        return 1 if source is not None and source.blockedUntil > 0 else 0

    def prune(self, now: float) -> None:
        """Forget sources with no recent failure and no block (or a long-ended one)."""
        settings = self.settings
        # A source's back-off level is remembered for the longest block after
        # its last one ended, so that a returning guesser gets a longer block.
        memory = max(settings.window, settings.maxBlockTime)
        stale = [host for host, s in self._sources.items()
                 if s.lastSeen + settings.window < now and s.blockedUntil + memory < now]
        for host in stale:
            del self._sources[host]
        horizon = now - settings.window
        for account in [a for a, times in self._accounts.items() if not times or times[-1] <= horizon]:
            del self._accounts[account]

    def _source(self, host: str, now: float) -> _Source:
        source = self._sources.get(host)
        if source is None:
            if len(self._sources) >= self.maxEntries:
                self.prune(now)
                while len(self._sources) >= self.maxEntries:
                    self._sources.pop(next(iter(self._sources)))
            source = self._sources[host] = _Source()
        source.lastSeen = now
        return source

    def __len__(self) -> int:
        return len(self._sources)
