"""
Process limits a PBX raises at start. Every call holds sockets (SIP over TCP
or TLS, two RTP/RTCP pairs when media is anchored), so the default soft limit
of open files (often 1024) caps a PBX at a few hundred calls; Asterisk's
safe_asterisk raises it (ulimit -n) before starting. L{raiseOpenFileLimit}
lifts the soft RLIMIT_NOFILE to the hard limit and says so once.
"""

from __future__ import annotations

import resource

from twisted.logger import Logger

__all__ = ["raiseOpenFileLimit"]

_log = Logger(namespace="pbxcore.limits")


def raiseOpenFileLimit(getrlimit=resource.getrlimit, setrlimit=resource.setrlimit, log=_log):
    """
    Raise the soft limit of open files to the hard limit; returns the
    (soft, hard) limits in force afterwards. Logs one line: raised, already
    at the hard limit, or why it could not be raised.
    """
    soft, hard = getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        log.info("Open files limit: {soft} (the hard limit)", soft=_show(soft))
        return soft, hard
    try:
        setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (OSError, ValueError) as e:
        log.warn("Open files limit stays at {soft}: raising it to {hard} failed: {error}",
                 soft=_show(soft), hard=_show(hard), error=str(e))
        return soft, hard
    log.info("Open files limit raised from {soft} to {hard}", soft=_show(soft), hard=_show(hard))
    return hard, hard


def _show(limit):
    return "unlimited" if limit == resource.RLIM_INFINITY else str(limit)
