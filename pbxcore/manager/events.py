"""
Event fan-out for manager sessions, pure: which session sees which event, and
the bytes it gets.

An event is formatted once per broadcast (L{OutgoingEvent}) however many
sessions receive it; eventfilters run on the event's text, as Asterisk's do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pbxcore.manager.config import EventFilter
from pbxcore.manager.framing import formatEvent


#: Core event names that Asterisk spells differently on the wire.
WIRE_NAMES = {"NewExten": "Newexten"}


def privilegeOf(category: str) -> str:
    """The C{Privilege:} value Asterisk writes for an event of C{category}."""
    return f"{category},all"


@dataclass
class OutgoingEvent:
    """
    One core event on its way to many sessions; its bytes and filter text
    are computed on first use and shared.
    """

    name: str
    fields: tuple
    category: str
    timestamp: float
    #: pbx.conf's systemname: Asterisk adds C{SystemName:} to every event when set.
    systemName: str = ""
    _plain: bytes | None = field(default=None, repr=False)
    _stamped: bytes | None = field(default=None, repr=False)
    _text: str | None = field(default=None, repr=False)

    @classmethod
    def fromEvent(cls, event, systemName: str = "") -> "OutgoingEvent":
        name = WIRE_NAMES.get(event.name, event.name)
        return cls(name, tuple(event.fields), event.category, event.timestamp, systemName)

    def data(self, timestamped: bool) -> bytes:
        if timestamped:
            if self._stamped is None:
                self._stamped = formatEvent(self.name, self.fields,
                                            privilege=privilegeOf(self.category),
                                            timestamp=self.timestamp,
                                            systemName=self.systemName)
            return self._stamped
        if self._plain is None:
            self._plain = formatEvent(self.name, self.fields,
                                      privilege=privilegeOf(self.category),
                                      systemName=self.systemName)
        return self._plain

    def text(self) -> str:
        """The event as a filter sees it: its lines joined by CRLF."""
        if self._text is None:
            self._text = self.data(False).decode("utf-8")
        return self._text


def wants(event: OutgoingEvent, readClasses: frozenset, eventMask: frozenset,
          eventFilter: EventFilter) -> bool:
    """
    Whether a session reading C{readClasses}, with its Events mask and its
    user's eventfilter, gets C{event}.
    """
    if event.category not in readClasses or event.category not in eventMask:
        return False
    if eventFilter and not eventFilter.passes(event):
        return False
    return True
