"""
res_sip_diversion: redirecting information to and from SIP headers.

Incoming INVITE: C{Diversion} (RFC 5806) or, when absent, C{History-Info}
(RFC 7044, with RFC 4458 causes) tells who the call was diverted from, why,
and how many times; the channel's redirecting information then reads
through C{${REDIRECTING(from-num)}}, C{from-name}, C{reason}, C{count}
(and C{to-num}).

Outgoing INVITE: a channel with redirecting information (its own, set with
C{Set(REDIRECTING(from-num)=...)}, or that of the channel dialing it) sends
a C{Diversion} header and a two-entry C{History-Info}.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import unquote

from twisted.logger import Logger
from zope.interface import implementer

from channels.sip.interfaces import SessionSupplement, registerSupplement
from channels.sip.wire.grammar import parseNameAddr, parseParams
from channels.sip.wire.uri import unescape
from pbxcore.api import Module
from pbxcore.dialplan.expr import splitArgs
from pbxcore.interfaces import IDialplanFunction

log = Logger()

COOKIE = "res_sip_diversion"
DATASTORE = "redirecting"

#: Asterisk's redirecting reasons, which are also RFC 5806's reason tokens.
REASONS = ("unknown", "user-busy", "no-answer", "unavailable", "unconditional",
           "time-of-day", "do-not-disturb", "deflection", "follow-me",
           "out-of-service", "away")

#: RFC 4458 section 5: History-Info cause codes and redirecting reasons.
CAUSE_TO_REASON = {404: "unknown", 486: "user-busy", 408: "no-answer", 480: "unavailable",
                   503: "out-of-service", 302: "unconditional", 487: "deflection",
                   380: "away"}
REASON_TO_CAUSE = {reason: cause for cause, reason in CAUSE_TO_REASON.items()}


@dataclass(frozen=True)
class Redirecting:
    """Who diverted the call (from), to whom (to), why, and how many times."""

    fromNumber: str = ""
    fromName: str = ""
    toNumber: str = ""
    reason: str = "unknown"
    count: int = 0

    def __bool__(self):
        return bool(self.fromNumber or self.count)


def _userOf(text: str) -> tuple[str, str, object]:
    addr = parseNameAddr(text.strip())
    user = unescape(getattr(addr.uri, "user", None) or "")
    return user, addr.displayName or "", addr


def _nameAddrs(values: list[str]):
    """(user, display name, name-addr) of each comma-separated element; unparsable ones are skipped."""
    for value in values:
        for element in _splitComma(value):
            try:
                yield _userOf(element)
            except Exception:
                continue


def parseDiversion(values: list[str]) -> Redirecting | None:
    """The redirecting information of C{Diversion} values (the first is the latest)."""
    entries = []
    for user, name, addr in _nameAddrs(values):
        params = {k.lower(): (v or "").strip('"') for k, v in (addr.params or ())}
        entries.append((user, name, params))
    if not entries:
        return None
    user, name, params = entries[0]
    reason = params.get("reason", "unknown").lower()
    if reason not in REASONS:
        reason = "unknown"
    try:
        count = int(params.get("counter", "1"))
    except ValueError:
        count = 1
    count = max(count, len(entries))
    return Redirecting(fromNumber=user, fromName=name, reason=reason, count=count)


def parseHistoryInfo(values: list[str], target: str = "") -> Redirecting | None:
    """
    The redirecting information of C{History-Info} entries: the entry before
    the last one that carries a cause is the diverting party.
    """
    entries = []
    for user, name, addr in _nameAddrs(values):
        cause = None
        for key, header in getattr(addr.uri, "headers", ()) or ():
            if key.lower() == "reason":
                reason = dict(parseParams(unquote(header).partition(";")[2]))
                try:
                    cause = int(reason.get("cause", ""))
                except ValueError:
                    pass
        for key, v in getattr(addr.uri, "params", ()) or ():
            if key.lower() == "cause" and v and v.isdigit():
                cause = int(v)
        entries.append((user, name, cause))
    diverted = [i for i, (_, _, cause) in enumerate(entries) if cause is not None and i > 0]
    if not diverted:
        return None
    last = diverted[-1]
    user, name, _ = entries[last - 1]
    cause = entries[last][2]
    return Redirecting(fromNumber=user, fromName=name, toNumber=entries[last][0] or target,
                       reason=CAUSE_TO_REASON.get(cause, "unknown"), count=len(diverted))


def _splitComma(value: str) -> list[str]:
    out, depth, quoted, start = [], 0, False, 0
    for i, c in enumerate(value):
        if c == '"':
            quoted = not quoted
        elif not quoted and c == "<":
            depth += 1
        elif not quoted and c == ">":
            depth -= 1
        elif not quoted and depth == 0 and c == ",":
            out.append(value[start:i])
            start = i + 1
    out.append(value[start:])
    return [v.strip() for v in out if v.strip()]


def fromRequest(request) -> Redirecting | None:
    """Diversion first (Asterisk's order), else History-Info."""
    found = parseDiversion(request.headers.getall("Diversion"))
    if found is None:
        target = getattr(request.requestURI, "user", None) or ""
        found = parseHistoryInfo(request.headers.getall("History-Info"), target)
    return found


def diversionHeader(info: Redirecting, host: str) -> str:
    name = f'"{info.fromName}" ' if info.fromName else ""
    return (f"{name}<sip:{info.fromNumber}@{host}>;reason={info.reason}"
            f";counter={max(info.count, 1)}")


def historyInfoHeader(info: Redirecting, target: str, host: str) -> str:
    cause = REASON_TO_CAUSE.get(info.reason, 404)
    return (f"<sip:{info.fromNumber}@{host}>;index=1,"
            f"<sip:{target}@{host};cause={cause}>;index=1.1")


def redirectingOf(channel) -> Redirecting:
    """C{channel}'s redirecting information: set in the dialplan, else from its INVITE."""
    if channel is None:
        return Redirecting()
    info = channel.datastores.get(DATASTORE)
    if info is not None:
        return info
    session = getattr(getattr(channel, "driver", None), "session", None)
    if session is not None:
        info = session.getCookie(COOKIE)
        if info is not None:
            return info
    return Redirecting()


class DiversionSupplement(SessionSupplement):
    method = "INVITE"
    priority = 90

    def incomingRequest(self, session, request):
        if session.role == "uas" and session.state == "incoming":
            info = fromRequest(request)
            if info:
                if not info.toNumber:
                    called = unescape(getattr(request.requestURI, "user", None) or "")
                    info = replace(info, toNumber=called)
                session.addCookie(COOKIE, info)
        return False

    def outgoingRequest(self, session, request):
        if session.role != "uac" or session.state == "confirmed":
            return
        channel = session.channel
        if channel is None:
            return
        info = redirectingOf(channel)
        if not info:
            info = redirectingOf(channel.requestor)
        if not info or not info.fromNumber:
            return
        host, _ = session.manager.localAddress(session.destination)
        host = f"[{host}]" if ":" in host else host
        target = (info.toNumber or getattr(request.requestURI, "user", None)
                  or getattr(channel.requestor, "exten", None) or "unknown")
        request.headers.set("Diversion", diversionHeader(info, host))
        request.headers.set("History-Info", historyInfoHeader(info, target, host))


@implementer(IDialplanFunction)
class RedirectingFunction:
    """REDIRECTING(from-num|from-name|to-num|reason|count): the channel's redirecting info."""

    name = "REDIRECTING"
    synopsis = "Gets or sets Redirecting data on the channel"

    FIELDS = {"from-num": "fromNumber", "from-name": "fromName", "to-num": "toNumber",
              "reason": "reason", "count": "count"}

    def _field(self, args):
        parts = splitArgs(args)
        item = parts[0].strip().lower() if parts else ""
        if item not in self.FIELDS:
            raise ValueError(f"REDIRECTING: unknown data type {item!r}")
        return self.FIELDS[item]

    def read(self, channel, args):
        return str(getattr(redirectingOf(channel), self._field(args)))

    def write(self, channel, args, value):
        field = self._field(args)
        value = "" if value is None else str(value).strip()
        if field == "count":
            value = int(value or 0)
        elif field == "reason" and value.lower() not in REASONS:
            raise ValueError(f"REDIRECTING: unknown reason {value!r}")
        elif field == "reason":
            value = value.lower()
        channel.datastores[DATASTORE] = replace(redirectingOf(channel), **{field: value})


class SIPDiversionModule(Module):
    """res_sip_diversion."""

    def load(self, pbx, registrar):
        registerSupplement(pbx, registrar, DiversionSupplement(), "res_sip_diversion")
        if "REDIRECTING" not in pbx.registry("function"):
            registrar.register("function", RedirectingFunction())
