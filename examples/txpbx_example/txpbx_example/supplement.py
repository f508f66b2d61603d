"""
The session supplement of res_example: refuses INVITEs that carry the
configured header value, stamps X-Pbx-Node on what the PBX sends, and keeps
a per-call cookie whose destroy callback runs when the call ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.logger import Logger

from channels.sip.interfaces import SessionSupplement

COOKIE = "res_example"


@dataclass
class CallRecord:
    """The per-session cookie: what res_example knows about one call."""

    callId: str
    node: str
    requests: int = 0


class NodeSupplement(SessionSupplement):
    """
    Sees every session (method None) so that sessionBegin and sessionDestroy
    run for all of them; the INVITE-only work checks the method itself.

    Each session holds one use of the module from begin to destroy, so the
    module cannot be unloaded (without force) under a live call.
    """

    log = Logger()
    method = None
    priority = 50  # before the default 100s of most supplements

    def __init__(self, module, registrar):
        self.module = module
        self.registrar = registrar

    # -- life cycle ----------------------------------------------------------

    def sessionBegin(self, session):
        self.registrar.ref()
        record = CallRecord(session.callId or "", self.module.settings.node)
        session.addCookie(COOKIE, record, self._cookieDestroyed)
        self.module.stats["sessions"] += 1

    def _cookieDestroyed(self, record):
        self.module.stats["cookiesDestroyed"] += 1
        self.log.info("res_example: cookie of call {callId} destroyed after {n} requests",
                      callId=record.callId, n=record.requests)

    def sessionDestroy(self, session):
        self.registrar.unref()

    # -- messages ------------------------------------------------------------

    def incomingRequest(self, session, request):
        record = session.getCookie(COOKIE)
        if record is not None:
            record.requests += 1
        if request.method != "INVITE" or session.state != "incoming":
            return False
        settings = self.module.settings
        values = [v.strip().lower() for v in request.headers.getall(settings.rejectHeader)]
        if settings.rejectValue.lower() in values:
            self.module.stats["rejected"] += 1
            self.log.info("res_example: {header}: {value} in INVITE {callId}, 403",
                          header=settings.rejectHeader, value=settings.rejectValue,
                          callId=request.callId)
            session.respond(request, 403, "Forbidden")
            return True
        return False

    def outgoingRequest(self, session, request):
        if request.method == "INVITE":
            request.headers.set("X-Pbx-Node", self.module.settings.node)

    def outgoingResponse(self, session, response):
        cseq = response.cseq
        if response.status == 200 and cseq is not None and cseq.method == "INVITE":
            response.headers.set("X-Pbx-Node", self.module.settings.node)
