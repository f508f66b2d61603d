"""
The transaction user behind the SIP transaction layer: a dispatcher that
answers out-of-dialog requests and hands the rest to registered handlers.

The checks every UAS makes before any method runs (RFC 3261 §8.2) live here,
in order: CSeq/method agreement (400), method known (501) and allowed (405),
Request-URI scheme (416), an INVITE's Contact (400, L{channels.sip.wire.checks}),
Max-Forwards (483, except OPTIONS), in-dialog
requests with no dialog (481), Require (420). Then the method's handler.

Extending it
============

chan_sip and later modules replace or add method handlers::

    ua.registerMethod("REGISTER", handler)     # returns an undo callable
    ua.registerDialogHandler(dialogHandler)    # in-dialog requests

A method handler is C{handler(request, serverTransaction)}; it must answer
through C{serverTransaction.respond(response)} (build responses with
L{UserAgent.makeResponse}, which adds Server). A dialog handler is
C{dialogHandler(request, serverTransaction) -> bool}: True claims the request
(and the claimer answers it); when none claims a request whose To carries a
tag, the dispatcher answers 481. C{supported} is the set of option-tags
(Supported / Require) the stack understands; modules add to it.

The handlers the user agent has on its own answer what a bare stack (no
chan_sip configuration loaded over it) can: INVITE is refused with 403 after
the media-type checks (415, 406), REGISTER is challenged with 401 (or refused
with 403 once credentials are offered), BYE with no dialog gets 481 (CANCEL
is answered by the transaction layer), OPTIONS gets 200 with the
capabilities. chan_sip replaces INVITE (L{channels.sip.driver.technology}),
REGISTER (L{channels.sip.driver.registrar}) and the rest at load.
"""

from __future__ import annotations

import os
from typing import Callable

from twisted.logger import Logger

from channels.sip.wire.message import SIPParseError, makeResponse, newTag
from channels.sip.wire.body import ACCEPT as BODY_ACCEPT
from channels.sip.wire.body import mediaType as _mediaType
from channels.sip.wire.body import unusableBody
from channels.sip.wire.checks import requestDefect

# Every method this stack recognises; the rest get 501.
KNOWN_METHODS = frozenset(
    {
        "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER", "SUBSCRIBE",
        "NOTIFY", "REFER", "MESSAGE", "INFO", "PRACK", "UPDATE", "PUBLISH",
    }
)

# The body types read (application/sdp, and multipart bodies carrying it, RFC 5621).
ACCEPT = BODY_ACCEPT


def _acceptsSDP(accept: list[str]) -> bool:
    for value in accept:
        for item in value.split(","):
            media = _mediaType(item)
            if media in ("application/sdp", "application/*", "*/*"):
                return True
    return False


class UserAgent:
    """
    The SIP transaction user: C{requestReceived}, C{ackReceived} and
    C{strayResponse} are called by the transaction manager.

    @ivar requestCounts: requests dispatched per method (a retransmission
        absorbed by a transaction is not counted).
    """

    log = Logger()

    def __init__(self, userAgent: str = "txpbx", realm: str = "asterisk"):
        self.userAgent = userAgent
        self.realm = realm
        self.supported: set[str] = set()
        self.requestCounts: dict[str, int] = {}
        self._handlers: dict[str, Callable] = {}
        self._dialogHandlers: list[Callable] = []
        self._cancelHandlers: list[Callable] = []
        #: The "sip.service" registry (ISIPService, out-of-dialog hooks) once calls are loaded.
        self.services = None
        self._capabilities = None
        for method in ("OPTIONS", "INVITE", "REGISTER", "BYE"):
            self._handlers[method] = getattr(self, "sip_" + method)

    # -- extension -------------------------------------------------------

    def registerMethod(self, method: str, handler: Callable) -> Callable[[], None]:
        """
        Make C{handler(request, serverTransaction)} answer C{method}, replacing
        any previous handler; return a callable that restores the previous one.
        """
        method = method.upper()
        previous = self._handlers.get(method)
        self._handlers[method] = handler

        def undo():
            if self._handlers.get(method) is handler:
                if previous is None:
                    del self._handlers[method]
                else:
                    self._handlers[method] = previous

        return undo

    def registerDialogHandler(self, handler: Callable) -> Callable[[], None]:
        """
        Offer in-dialog requests (To tag present) to C{handler(request,
        serverTransaction) -> bool}; return a callable removing it.
        """
        self._dialogHandlers.append(handler)
        return lambda: self._dialogHandlers.remove(handler) if handler in self._dialogHandlers else None

    def allowedMethods(self) -> list[str]:
        """The methods for the Allow header: handled ones plus ACK and CANCEL."""
        return sorted(set(self._handlers) | {"ACK", "CANCEL"}, key=_methodOrder)

    def registerCancelHandler(self, handler: Callable) -> Callable[[], None]:
        """
        Offer CANCELs of pending INVITEs to C{handler(cancel,
        inviteServerTransaction) -> bool}; the CANCEL itself is already
        answered 200. An INVITE nobody claims is answered 487 here.
        """
        self._cancelHandlers.append(handler)

        def undo():
            if handler in self._cancelHandlers:
                self._cancelHandlers.remove(handler)

        return undo

    def cancelReceived(self, cancel, inviteTransaction):
        """The transaction layer matched a CANCEL to an unanswered INVITE."""
        for handler in list(self._cancelHandlers):
            if handler(cancel, inviteTransaction):
                return
        if not inviteTransaction.responded:
            response = makeResponse(inviteTransaction.request, 487, toTag=inviteTransaction.toTag or newTag())
            inviteTransaction.respond(response)

    # -- responses -------------------------------------------------------

    def makeResponse(self, request, status: int, reason: str | None = None, headers=()):
        """A response to C{request} carrying Server and the extra C{headers}."""
        response = makeResponse(request, status, reason, toTag=newTag() if status > 100 else None)
        response.headers.add("Server", self.userAgent)
        for name, value in headers:
            response.headers.add(name, value)
        return response

    def respond(self, serverTransaction, request, status: int, reason: str | None = None, headers=()):
        """Build and send a response through C{serverTransaction}."""
        serverTransaction.respond(self.makeResponse(request, status, reason, headers))

    def capabilityHeaders(self) -> list[tuple[str, str]]:
        """Allow, Accept, Supported...: recomputed only when handlers or tags change."""
        key = (len(self._handlers), tuple(self._handlers), frozenset(self.supported))
        cached = self._capabilities
        if cached is not None and cached[0] == key:
            return cached[1]
        headers = self._computeCapabilities()
        self._capabilities = (key, headers)
        return headers

    def _computeCapabilities(self) -> list[tuple[str, str]]:
        return [
            ("Allow", ", ".join(self.allowedMethods())),
            ("Accept", ACCEPT),
            ("Accept-Encoding", "identity"),
            ("Accept-Language", "en"),
            ("Supported", ", ".join(sorted(self.supported))),
        ]

    # -- the transaction user contract ----------------------------------

    def requestReceived(self, request, serverTransaction):
        method = request.method.upper()
        self.requestCounts[method] = self.requestCounts.get(method, 0) + 1
        try:
            self._dispatch(method, request, serverTransaction)
        except SIPParseError as e:
            # A header only a handler looks at was malformed.
            self.log.info("bad SIP {method} from {source}: {reason}", method=method, source=_sourceOf(serverTransaction), reason=e.reason)
            self.respond(serverTransaction, request, e.status or 400, " ".join(e.reason.split()) or "Bad Request")
        except Exception:
            self.log.failure("error handling SIP {method} from {source}", method=method, source=_sourceOf(serverTransaction))
            try:
                self.respond(serverTransaction, request, 500, "Server Internal Error")
            except Exception:
                self.log.failure("could not send 500")

    def ackReceived(self, ack, source):
        """An ACK no transaction wanted (2xx ACKs belong to dialogs): dropped."""
        for handler in self._dialogHandlers:
            if handler(ack, None):
                return

    def strayResponse(self, response, source):
        """A response matching no client transaction: dropped (RFC 3261 §18.1.2)."""
        self.log.debug("dropped stray SIP response {status} from {source}", status=response.status, source=str(source))

    def _dispatch(self, method, request, st):
        cseq = request.headers.get("CSeq")
        if cseq is not None and cseq.rpartition(" ")[2].strip().upper() != method:
            return self.respond(st, request, 400, "CSeq Method Does Not Match")
        handler = self._handlers.get(method)
        if method not in KNOWN_METHODS and handler is None:
            return self.respond(st, request, 501, "Not Implemented", [("Allow", ", ".join(self.allowedMethods()))])
        if handler is None and method != "ACK":
            return self.respond(st, request, 405, "Method Not Allowed", [("Allow", ", ".join(self.allowedMethods()))])
        scheme = _uriScheme(request)
        if scheme not in ("sip", "sips"):
            return self.respond(st, request, 416, "Unsupported URI Scheme")
        defect = requestDefect(request)
        if defect is not None:
            return self.respond(st, request, *defect)
        if method != "OPTIONS":
            if request.maxForwards == 0:
                return self.respond(st, request, 483, "Too Many Hops")
        to = request.headers.get("To") or ""
        if "tag" in to.lower() and request.toTag:
            for dialogHandler in self._dialogHandlers:
                if dialogHandler(request, st):
                    return
            return self.respond(st, request, 481, "Call/Transaction Does Not Exist")
        if method not in ("ACK", "CANCEL"):
            require = request.headers.getall("Require") if "Require" in request.headers else ()
            unsupported = [tag for tag in _optionTags(require) if tag not in self.supported]
            if unsupported:
                return self.respond(st, request, 420, "Bad Extension", [("Unsupported", ", ".join(unsupported))])
        services = self.services
        if services is not None and len(services):
            for service in services.snapshot():
                if method in service.methods and service.requestReceived(request, st):
                    return
        handler(request, st)

    # -- default handlers ------------------------------------------------

    def sip_OPTIONS(self, request, st):
        self.respond(st, request, 200, "OK", self.capabilityHeaders())

    def sip_INVITE(self, request, st):
        """Without chan_sip's calls installed: media checks, then 403."""
        if not self.mediaAcceptable(request, st):
            return
        self.respond(st, request, 403, "Forbidden")

    def sip_REGISTER(self, request, st):
        """Without chan_sip's registrar installed: a digest challenge, never a binding."""
        to = request.toAddr
        if to is None or _scheme(to.uri) not in ("sip", "sips"):
            return self.respond(st, request, 400, "To Is Not a SIP URI")
        authorization = request.headers.get("Authorization") or ""
        if authorization.strip().lower().startswith("digest"):
            return self.respond(st, request, 403, "Forbidden")
        nonce = os.urandom(12).hex()
        challenge = f'Digest realm="{self.realm}", nonce="{nonce}", algorithm=MD5'
        self.respond(st, request, 401, "Unauthorized", [("WWW-Authenticate", challenge)])

    def sip_BYE(self, request, st):
        self.respond(st, request, 481, "Call/Transaction Does Not Exist")

    def mediaAcceptable(self, request, st) -> bool:
        """
        415 (with Accept) for a body holding no SDP: another type, or a
        multipart body without an SDP part (RFC 5621); 406 when the caller
        accepts no SDP.
        """
        if unusableBody(request):
            self.respond(st, request, 415, "Unsupported Media Type", [("Accept", ACCEPT)])
            return False
        accept = request.headers.getall("Accept")
        if accept and not _acceptsSDP(accept):
            self.respond(st, request, 406, "Not Acceptable")
            return False
        return True


_ORDER = ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER", "SUBSCRIBE", "NOTIFY",
          "REFER", "MESSAGE", "INFO", "PRACK", "UPDATE", "PUBLISH"]


def _methodOrder(method: str):
    return (_ORDER.index(method), method) if method in _ORDER else (len(_ORDER), method)


def _optionTags(values) -> list[str]:
    tags = []
    for value in values:
        for tag in value.split(","):
            tag = tag.strip().lower()
            if tag:
                tags.append(tag)
    return tags


def _scheme(uri) -> str:
    scheme = getattr(uri, "scheme", None)
    if scheme is None:
        scheme = str(uri).partition(":")[0]
    return scheme.lower()


def _sourceOf(st) -> str:
    return str(getattr(st, "source", "?"))


def _uriScheme(request) -> str:
    return request.uri.partition(":")[0].strip().lower()
