"""
Call and pickup groups, PURE (Asterisk's ast_get_group and
ast_get_namedgroups): C{callgroup = 1,3-4} names numbered groups 0-63,
C{namedcallgroup = sales,support} named ones; a channel may pick up a
ringing one when its pickup groups share a group with the ringing one's
call groups (numbered or named).
"""

from dataclasses import dataclass

MAX_GROUP = 63


def parseGroups(text):
    """frozenset of group numbers from '1,3-4' (ValueError for a bad one)."""
    groups = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        first, dash, last = part.partition("-")
        start = int(first)
        end = int(last) if dash else start
        if not (0 <= start <= end <= MAX_GROUP):
            raise ValueError(f"group {part!r} is not within 0-{MAX_GROUP}")
        groups.update(range(start, end + 1))
    return frozenset(groups)


def parseNamedGroups(text):
    """frozenset of group names from 'sales, support' (names compare exactly)."""
    return frozenset(p.strip() for p in (text or "").split(",") if p.strip())


@dataclass(frozen=True)
class Groups:
    """A channel's groups."""
    callgroup: frozenset = frozenset()
    pickupgroup: frozenset = frozenset()
    namedcallgroup: frozenset = frozenset()
    namedpickupgroup: frozenset = frozenset()

    @classmethod
    def fromSettings(cls, values):
        """From {key: text} with sip.conf's callgroup, pickupgroup, namedcallgroup, namedpickupgroup."""
        return cls(parseGroups(values.get("callgroup")), parseGroups(values.get("pickupgroup")),
                   parseNamedGroups(values.get("namedcallgroup")),
                   parseNamedGroups(values.get("namedpickupgroup")))

    def canPickUp(self, ringing):
        """Whether a channel with these groups may pick up one with C{ringing}'s."""
        return bool(self.pickupgroup & ringing.callgroup
                    or self.namedpickupgroup & ringing.namedcallgroup)


NO_GROUPS = Groups()
