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
    """
    Fan-out of core events to subscribers, in subscription order.

    A subscriber may name the events it wants and give a predicate telling
    whether it wants anything right now (a manager with no session wants
    nothing): when nobody wants an event, emitters skip building it at all,
    which is most of its cost on the per-call path.
    """

    log = Logger()

    def __init__(self):
        self._subscribers = []
        self._routes = {}

    def subscribe(self, callback, names=None, when=None):
        """
        Add C{callback(event)} for the events called C{names} (all when
        None), while C{when()} is true (always when None). Returns a
        function that unsubscribes.
        """
        entry = (callback, None if names is None else frozenset(names), when)
        self._subscribers.append(entry)
        self._routes.clear()

        def unsubscribe():
            try:
                self._subscribers.remove(entry)
            except ValueError:
                pass
            self._routes.clear()

        return unsubscribe

    def __len__(self):
        return len(self._subscribers)

    def _route(self, name):
        route = self._routes.get(name)
        if route is None:
            route = self._routes[name] = tuple(
                (callback, when) for callback, names, when in self._subscribers
                if names is None or name in names)
        return route

    def wants(self, name):
        """Whether any subscriber would receive an event called C{name} now."""
        for _, when in self._route(name):
            if when is None or when():
                return True
        return False

    def publish(self, event):
        for callback, when in self._route(event.name):
            if when is not None and not when():
                continue
            try:
                callback(event)
            except Exception:
                self.log.failure("event subscriber {callback!r} failed on {name}",
                                 callback=callback, name=event.name)

    def emit(self, name, fields=(), category="system"):
        """Build and publish an Event; returns it, or None when nobody wants it."""
        if not self.wants(name):
            return None
        event = Event(name, normalizeFields(fields), category)
        self.publish(event)
        return event
