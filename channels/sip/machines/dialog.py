"""
Dialog state (RFC 3261 §12): identifiers, sequence numbers, route set and
remote target, and building requests inside the dialog.

Pure: messages in, messages out; the session shell decides where to send.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from channels.sip.wire.headers import Headers
from channels.sip.wire.message import Request, newBranch

__all__ = ["Dialog", "DialogError"]


class DialogError(ValueError):
    """A message cannot create or update the dialog (no Contact, no tag)."""


def _stripTag(nameAddr) -> str:
    """The From/To value without its tag parameter, as text."""
    params = tuple(p for p in nameAddr.params if p[0].lower() != "tag")
    return str(type(nameAddr)(nameAddr.displayName, nameAddr.uri, params))


def _uriText(nameAddr) -> str:
    return str(nameAddr.uri)


@dataclass
class Dialog:
    """
    One dialog as seen from our side. C{localSeq} is the CSeq of the last
    request we sent in it, C{remoteSeq} that of the last we accepted.
    """

    callId: str
    localTag: str
    remoteTag: str | None
    localURI: str
    remoteURI: str
    remoteTarget: str
    routeSet: tuple[str, ...] = ()
    localSeq: int = 0
    remoteSeq: int | None = None
    secure: bool = False
    state: str = "early"
    # Headers copied into every request we send (e.g. for a UAC the name-addr form).
    extra: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    # -- creation ---------------------------------------------------------------

    @classmethod
    def asUAS(cls, request, localTag: str) -> "Dialog":
        """The dialog a UAS creates answering C{request} with To tag C{localTag}."""
        contacts = request.contacts
        if not contacts:
            raise DialogError("the request has no Contact")
        fromAddr, toAddr = request.fromAddr, request.toAddr
        if fromAddr is None or toAddr is None:
            raise DialogError("the request has no From or To")
        cseq = request.cseq
        return cls(
            callId=request.callId,
            localTag=localTag,
            remoteTag=fromAddr.tag,
            localURI=_stripTag(toAddr),
            remoteURI=_stripTag(fromAddr),
            remoteTarget=_uriText(contacts[0]),
            routeSet=tuple(str(r) for r in request.recordRoutes),
            localSeq=secrets.randbelow(2**16) + 1,
            remoteSeq=cseq.number if cseq is not None else None,
            secure=request.uri.lower().startswith("sips:"),
        )

    @classmethod
    def asUAC(cls, request, response) -> "Dialog":
        """The dialog a UAC creates from C{response} (1xx with a tag, or 2xx)."""
        if not response.toTag:
            raise DialogError("the response has no To tag")
        contacts = response.contacts
        target = _uriText(contacts[0]) if contacts else request.uri
        return cls(
            callId=request.callId,
            localTag=request.fromTag,
            remoteTag=response.toTag,
            localURI=_stripTag(request.fromAddr),
            remoteURI=_stripTag(request.toAddr),
            remoteTarget=target,
            routeSet=tuple(str(r) for r in reversed(response.recordRoutes)),
            localSeq=request.cseq.number,
            remoteSeq=None,
            secure=request.uri.lower().startswith("sips:"),
        )

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.callId, self.localTag, self.remoteTag)

    # -- updating -------------------------------------------------------------------

    def confirm(self) -> None:
        self.state = "confirmed"

    def terminate(self) -> None:
        self.state = "terminated"

    def updateFromResponse(self, response) -> None:
        """A 2xx (or a re-INVITE's 2xx) may carry a new remote target and route set."""
        contacts = response.contacts
        if contacts:
            self.remoteTarget = _uriText(contacts[0])
        if self.state == "early" and response.status < 300 and response.status >= 200:
            records = response.recordRoutes
            if records:
                self.routeSet = tuple(str(r) for r in reversed(records))

    def updateTarget(self, request) -> None:
        """A target refresh request (re-INVITE, UPDATE) may move the remote target."""
        contacts = request.contacts
        if contacts:
            self.remoteTarget = _uriText(contacts[0])

    def acceptRemoteCSeq(self, request) -> bool:
        """
        Whether C{request} may be processed: a CSeq lower than the last one
        accepted in this dialog is out of order (RFC 3261 §12.2.2: 500).
        ACK and CANCEL carry earlier numbers by design and always pass.
        """
        if request.method in ("ACK", "CANCEL"):
            return True
        cseq = request.cseq
        if cseq is None:
            return False
        if self.remoteSeq is not None and cseq.number < self.remoteSeq:
            return False
        self.remoteSeq = cseq.number
        return True

    def matches(self, request) -> bool:
        return (request.callId == self.callId and request.toTag == self.localTag
                and (self.remoteTag is None or request.fromTag == self.remoteTag))

    # -- requests ---------------------------------------------------------------------

    def nextHop(self) -> str:
        """The URI the next request is sent towards: the first route, else the target."""
        if self.routeSet:
            from channels.sip.wire.grammar import parseNameAddr

            return str(parseNameAddr(self.routeSet[0]).uri)
        return self.remoteTarget

    def _requestLine(self) -> tuple[str, list[str]]:
        """(Request-URI, Route values) honouring loose and strict routing (§12.2.1.1)."""
        routes = list(self.routeSet)
        if not routes:
            return self.remoteTarget, []
        from channels.sip.wire.grammar import parseNameAddr

        first = parseNameAddr(routes[0])
        if first.uri.hasParam("lr"):
            return self.remoteTarget, routes
        return str(first.uri), routes[1:] + [f"<{self.remoteTarget}>"]

    def makeRequest(self, method: str, via: str, contact: str | None = None, body: bytes = b"",
                    contentType: str | None = None, headers=(), cseq: int | None = None,
                    userAgent: str | None = None) -> Request:
        """
        A request in this dialog. C{via} is the sent-by with transport
        ("SIP/2.0/UDP host:port"); a fresh branch is added. Every method but
        ACK and CANCEL takes the next local CSeq.
        """
        if cseq is None:
            self.localSeq += 1
            cseq = self.localSeq
        uri, routes = self._requestLine()
        h = Headers()
        h.add("Via", f"{via};branch={newBranch()};rport")
        h.add("Max-Forwards", "70")
        for route in routes:
            h.add("Route", route)
        h.add("From", f"{self.localURI};tag={self.localTag}")
        to = self.remoteURI if self.remoteTag is None else f"{self.remoteURI};tag={self.remoteTag}"
        h.add("To", to)
        h.add("Call-ID", self.callId)
        h.add("CSeq", f"{cseq} {method}")
        if contact is not None and method not in ("ACK", "CANCEL", "BYE"):
            h.add("Contact", contact)
        if userAgent:
            h.add("User-Agent", userAgent)
        for name, value in self.extra:
            h.add(name, value)
        for name, value in headers:
            h.add(name, value)
        if body:
            h.add("Content-Type", contentType or "application/sdp")
        h.add("Content-Length", str(len(body)))
        return Request(method, uri, h, body)
