"""
Name-keyed registries of extension objects.

A registry checks every member against its interface on the way in, so a
module with a wrong signature fails at load, not in the middle of a call.
"""

from zope.interface import implementer
from zope.interface.verify import verifyObject

from pbxcore.errors import DuplicateRegistration
from pbxcore.interfaces import (
    IApplication,
    IChannelTechnology,
    ICLICommand,
    IDialplanFunction,
    IHTTPURI,
    IManagerAction,
    IMetric,
    IRegistry,
)

#: The registries the core provides itself, by kind.
CORE_KINDS = {
    "technology": IChannelTechnology,
    "application": IApplication,
    "function": IDialplanFunction,
    "manageraction": IManagerAction,
    "clicommand": ICLICommand,
    "http.uri": IHTTPURI,
    "metric": IMetric,
}


@implementer(IRegistry)
class Registry:
    """
    Members keyed by their C{name} attribute, case-insensitively, kept in
    registration order.
    """

    def __init__(self, kind, interface, keyAttribute="name"):
        self.kind = kind
        self.interface = interface
        self._key = keyAttribute
        self._members = {}

    def _keyOf(self, obj):
        return str(getattr(obj, self._key)).lower()

    def add(self, obj):
        verifyObject(self.interface, obj)
        key = self._keyOf(obj)
        if key in self._members:
            raise DuplicateRegistration(
                f"{self.kind} {getattr(obj, self._key)!r} is already registered"
            )
        self._members[key] = obj

    def remove(self, obj):
        key = self._keyOf(obj)
        if self._members.get(key) is not obj:
            raise KeyError(f"{self.kind} {getattr(obj, self._key)!r} is not registered")
        del self._members[key]

    def get(self, name, default=None):
        return self._members.get(str(name).lower(), default)

    def __getitem__(self, name):
        return self._members[str(name).lower()]

    def __iter__(self):
        return iter(list(self._members.values()))

    def __len__(self):
        return len(self._members)

    def __contains__(self, name):
        return str(name).lower() in self._members


@implementer(IRegistry)
class OrderedRegistry:
    """
    An unkeyed registry: members in (priority, registration) order. For hooks
    such as session supplements, where many members share no name.
    """

    def __init__(self, kind, interface, priorityAttribute=None):
        self.kind = kind
        self.interface = interface
        self._priority = priorityAttribute
        self._members = []
        self._counter = 0

    def add(self, obj):
        verifyObject(self.interface, obj)
        if any(m is obj for _, _, m in self._members):
            raise DuplicateRegistration(f"{self.kind} {obj!r} is already registered")
        prio = getattr(obj, self._priority, 0) if self._priority else 0
        self._counter += 1
        self._members.append((prio, self._counter, obj))
        self._members.sort(key=lambda t: (t[0], t[1]))

    def remove(self, obj):
        for i, (_, _, m) in enumerate(self._members):
            if m is obj:
                del self._members[i]
                return
        raise KeyError(f"{self.kind} {obj!r} is not registered")

    def get(self, name, default=None):
        for _, _, m in self._members:
            if getattr(m, "name", None) == name:
                return m
        return default

    def snapshot(self):
        """A tuple of the members now, for per-session copies."""
        return tuple(m for _, _, m in self._members)

    def __iter__(self):
        return iter(self.snapshot())

    def __len__(self):
        return len(self._members)

    def __contains__(self, name):
        return self.get(name) is not None
