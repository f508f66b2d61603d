"""
app_queue's member model and ring strategies, PURE: members, their device
states and the clock go in, the members to ring come out.

Each strategy gives every member that may ring a metric (Asterisk's
calc_metric) and the caller rings the member with the lowest one, or, for
ringall, every member sharing the lowest penalty. A member's penalty counts
a million, so lower penalties are always tried first.
"""

from dataclasses import dataclass, field

# Asterisk's device states (enum ast_device_state), the numbers on the wire.
UNKNOWN, NOT_INUSE, INUSE, BUSY, INVALID, UNAVAILABLE, RINGING, RINGINUSE, ONHOLD = range(9)
STATUS_TEXT = {UNKNOWN: "Unknown", NOT_INUSE: "Not in use", INUSE: "In use", BUSY: "Busy",
               INVALID: "Invalid", UNAVAILABLE: "Unavailable", RINGING: "Ringing",
               RINGINUSE: "Ring+Inuse", ONHOLD: "On Hold"}


@dataclass
class Member:
    """A queue member and its counters (Asterisk's struct member)."""

    interface: str
    membername: str = ""
    penalty: int = 0
    stateinterface: str = ""
    dynamic: bool = False
    paused: bool = False
    reason: str = ""
    calls: int = 0
    lastcall: float = 0.0
    lastpause: float = 0.0
    logintime: float = 0.0
    incall: bool = False
    status: int = UNKNOWN
    ringinuse: object = None  # None: the queue's setting
    wrapupUntil: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def name(self):
        return self.membername or self.interface

    @property
    def device(self):
        return self.stateinterface or self.interface


def excluded(member, conditions, now):
    """Whether one of joinempty/leavewhenempty's C{conditions} counts C{member} out."""
    checks = {
        "paused": member.paused,
        "inuse": member.status in (INUSE, BUSY, RINGINUSE, ONHOLD),
        "ringing": member.status in (RINGING, RINGINUSE),
        "unavailable": member.status == UNAVAILABLE,
        "invalid": member.status == INVALID,
        "unknown": member.status == UNKNOWN,
        "wrapup": member.wrapupUntil > now,
    }
    return any(checks.get(c, False) for c in conditions)


def isEmpty(members, conditions, now):
    """
    Asterisk's get_member_status: 'nomembers', 'unavailable' (every member
    counted out by C{conditions}) or None when someone could take a call.
    """
    if not members:
        return "nomembers"
    if not conditions:
        return None
    if all(excluded(m, conditions, now) for m in members):
        return "unavailable"
    return None


def canRing(member, ringinuse, now):
    """Whether C{member} may be rung now (not paused, resting, busy or gone)."""
    if member.paused or member.incall or member.wrapupUntil > now:
        return False
    if member.status in (INVALID, UNAVAILABLE, BUSY):
        return False
    allowInUse = ringinuse if member.ringinuse is None else member.ringinuse
    if not allowInUse and member.status in (INUSE, RINGING, RINGINUSE, ONHOLD):
        return False
    return True


def metric(strategy, member, position, now, rrpos=0, rand=None):
    """The metric of C{member} at C{position} in the member list (lowest rings first)."""
    base = member.penalty * 1000000
    if strategy == "ringall":
        return base
    if strategy == "linear":
        return base + position
    if strategy in ("rrmemory", "rrordered"):
        return base + (1000 + position if position < rrpos else position)
    if strategy == "random":
        return base + (rand(1000) if rand else 0)
    if strategy == "wrandom":
        return rand((1 + member.penalty) * 1000) if rand else base
    if strategy == "fewestcalls":
        return base + member.calls
    if strategy == "leastrecent":
        if not member.lastcall:
            return base
        return base + max(0, 1000000 - int(now - member.lastcall))
    raise ValueError(f"unknown strategy {strategy!r}")


def choose(strategy, members, now, ringinuse=True, tried=(), rrpos=0, rand=None):
    """
    The members to ring in this attempt: every ringable member with the
    best metric for ringall, else the one best member; members in C{tried}
    (interfaces) have had their turn this round. An empty list: nobody.
    """
    scored = []
    for position, member in enumerate(members):
        if member.interface in tried or not canRing(member, ringinuse, now):
            continue
        scored.append((metric(strategy, member, position, now, rrpos, rand), position, member))
    if not scored:
        return []
    scored.sort(key=lambda item: (item[0], item[1]))
    if strategy == "ringall":
        best = scored[0][0]
        return [member for value, _, member in scored if value == best]
    return [scored[0][2]]


def nextRRPosition(members, answered):
    """rrmemory remembers the member after the one that answered."""
    for position, member in enumerate(members):
        if member is answered:
            return position + 1 if position + 1 < len(members) else 0
    return 0
