"""
The core event bus: every manager event starts here.

Publishing is synchronous and cheap when nobody listens; a subscriber that
raises is logged and the others still run.
"""

import time
from dataclasses import dataclass, field

from twisted.logger import Logger


@dataclass(frozen=True)
class Event:
    """
    One core event. C{fields} keeps order and duplicates, as the manager
    protocol does.
    """

    name: str
    fields: tuple = ()
    category: str = "system"
    timestamp: float = field(default_factory=time.time)

    def get(self, key, default=None):
        lowered = key.lower()
        for k, v in self.fields:
            if k.lower() == lowered:
                return v
        return default


def normalizeFields(fields):
    """A tuple of (str, str) pairs from a dict or a sequence of pairs."""
    if fields is None:
        return ()
    items = fields.items() if hasattr(fields, "items") else fields
    return tuple((str(k), "" if v is None else str(v)) for k, v in items)


class EventBus:
    """Fan-out of core events to subscribers, in subscription order."""

    log = Logger()

    def __init__(self):
        self._subscribers = []

    def subscribe(self, callback):
        """Add C{callback(event)}; returns a function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe():
            try:
                self._subscribers.remove(callback)
            except ValueError:
                pass

        return unsubscribe

    def __len__(self):
        return len(self._subscribers)

    def publish(self, event):
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                self.log.failure("event subscriber {callback!r} failed on {name}",
                                 callback=callback, name=event.name)

    def emit(self, name, fields=(), category="system"):
        """Build and publish an Event; returns it."""
        event = Event(name, normalizeFields(fields), category)
        if self._subscribers:
            self.publish(event)
        return event
