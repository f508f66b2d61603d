"""
The log follows pbx.conf: no debug lines unless C{debug} is above 0, and no
per-socket lines from Twisted for RTP ports (C{_RTPProtocol starting on
12346}, C{(UDP Port 12346 Closed)}: four a call) unless C{verbose} is above
3. L{keepEvent} decides (pure); L{installLogFilter} puts a
C{FilteringLogObserver} in front of the observers twistd set up, reading the
settings at every event so that a reload applies at once.
"""

from __future__ import annotations

import re

from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    PredicateResult,
    formatEvent,
    globalLogPublisher,
)

__all__ = ["keepEvent", "installLogFilter"]

# Twisted's udp.Port logs these itself, whatever the protocol's noisy says.
_STARTING = re.compile(r"^(?P<prefix>\S+) starting on (?P<port>\d+)$")
_CLOSED = re.compile(r"^\((?:UDP|TCP) Port (?P<port>\d+) Closed\)$")
_RTP_PREFIXES = ("_RTPProtocol", "_RTCPProtocol", "RTPProtocol", "RTCPProtocol")


def keepEvent(event: dict, debug: int, verbose: int, rtpRange: tuple[int, int] | None) -> bool:
    """Whether C{event} is logged under pbx.conf's C{debug} and C{verbose}."""
    if event.get("log_level") is LogLevel.debug and debug <= 0:
        return False
    if verbose > 3 or event.get("log_namespace") != "log_legacy":
        return True
    try:
        text = formatEvent(event)
    except Exception:
        return True
    match = _STARTING.match(text) or _CLOSED.match(text)
    if match is None:
        return True
    prefix = match.groupdict().get("prefix")
    if prefix is not None and prefix.startswith(_RTP_PREFIXES):
        return False
    if rtpRange is not None and prefix is None:
        port = int(match.group("port"))
        return not rtpRange[0] <= port <= rtpRange[1] + 1
    return True


def installLogFilter(pbx, publisher=globalLogPublisher):
    """
    Wrap every observer of C{publisher} (those twistd began logging to) in a
    filter following C{pbx.settings}; returns a callable that undoes it.
    """
    observers = list(getattr(publisher, "_observers", ()))

    def predicate(event):
        engine = getattr(pbx, "rtpEngine", None)
        settings = getattr(engine, "settings", None)
        rtpRange = (settings.rtpstart, settings.rtpend) if settings is not None else None
        keep = keepEvent(event, pbx.settings.debug, pbx.settings.verbose, rtpRange)
        return PredicateResult.maybe if keep else PredicateResult.no

    wrapped = []
    for observer in observers:
        filtering = FilteringLogObserver(observer, [predicate])
        publisher.removeObserver(observer)
        publisher.addObserver(filtering)
        wrapped.append((observer, filtering))

    def undo():
        for observer, filtering in wrapped:
            publisher.removeObserver(filtering)
            publisher.addObserver(observer)

    return undo
