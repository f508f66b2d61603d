"""
The SIP extension points of chan_sip, after Asterisk's res_pjsip_session.

chan_sip exposes two ordered registries through its module registrar:

    registrar.provide("sip.supplement", OrderedRegistry(...ISessionSupplement...))
    registrar.provide("sip.sdphandler", OrderedRegistry(...ISDPHandler...))

Later modules add members with C{registrar.register("sip.supplement", obj)};
a session copies the supplements registered when it begins and keeps that
copy to its end, so a module unloaded mid-call never leaves a session with a
half-run chain. L{ISIPService} members (kind C{"sip.service"}) see
out-of-dialog requests before the built-in handlers.

Every interface has a no-op base class here for module authors to subclass.
"""

from zope.interface import Attribute, Interface, implementer

from pbxcore.errors import ModuleDeclined


class ISessionSupplement(Interface):
    """
    Sees every request and response of the INVITE sessions it applies to.
    """

    method = Attribute(
        "The SIP method whose requests and responses this supplement sees, or None "
        "for all. The lifecycle hooks (sessionBegin, sessionEnd, sessionDestroy) "
        "reach every supplement of the session whatever its method.")
    priority = Attribute("Lower runs first (Asterisk's AST_SIP_SUPPLEMENT_PRIORITY_*).")

    def sessionBegin(session):
        """A session that took this supplement in its snapshot began."""

    def sessionEnd(session):
        """The session ended (BYE, CANCEL, failure): the call is over."""

    def sessionDestroy(session):
        """The session is gone for good; drop any reference to it."""

    def incomingRequest(session, request):
        """
        A request arrived in the session. Return True to claim it: the chain
        and the session's own handling stop, and the claimer must answer it,
        now or later, with C{session.respond(request, status)}, which uses
        the request's own server transaction
        (C{session.serverTransaction(request)}).
        """

    def incomingResponse(session, response):
        """
        A response to a request the session sent arrived. For a failure to
        an unanswered outgoing INVITE a supplement may call
        C{session.resendInvite(headers)} (a 422 answered with a higher
        Min-SE, say); the session then waits for the new attempt.
        """

    def outgoingRequest(session, request):
        """A request is about to be sent; headers may be edited."""

    def outgoingResponse(session, response):
        """A response is about to be sent; headers may be edited."""


class ISDPHandler(Interface):
    """
    Negotiates one media type ("audio", "video", "image") of a session's SDP.
    Handlers of a type are visited in registration order until one claims
    the stream (returns something other than None).

    A C{stream} is the session's L{channels.sip.driver.session.MediaStream}: its
    C{index} (the m-line), C{mediaType}, C{handler} once claimed, and
    C{state}, a dict the handler owns.
    """

    mediaType = Attribute("The SDP media type handled: 'audio', 'video', 'image'.")
    name = Attribute("A name for logs and 'sip show' commands.")

    def negotiateIncomingStream(session, stream, offer, media):
        """
        Answer the offered C{media} (an L{channels.sip.wire.sdp.Media}) of the
        session description C{offer}: return the answering Media (port 0 to
        refuse it) to claim the stream, or None to let the next handler try.
        """

    def createOutgoingStream(session, stream):
        """
        The Media to offer for C{stream} (a new offer or re-offer), or None
        when this handler has nothing to offer.
        """

    def applyNegotiatedStream(session, stream, local, remote):
        """
        Offer and answer are both known: start (or update) the media with the
        local and remote Media of this stream. C{remote} has port 0 when the
        stream was refused.
        """

    def streamStop(session, stream):
        """Stop sending and receiving on the stream (hangup, re-INVITE removal)."""

    def streamDestroy(session, stream):
        """Release everything the stream holds (sockets, timers)."""


class ISIPService(Interface):
    """
    Out-of-dialog request hook (REGISTER, OPTIONS, MESSAGE, SUBSCRIBE ...),
    registered as kind C{"sip.service"}; services run in priority order
    before the built-in handler of the method.
    """

    name = Attribute("A name for logs.")
    priority = Attribute("Lower runs first.")
    methods = Attribute("A tuple of the methods the service wants to see.")

    def requestReceived(request, serverTransaction):
        """Return True when the service answered C{request} itself."""


def registerSupplement(pbx, registrar, supplement, module: str):
    """
    Register C{supplement} with chan_sip's C{sip.supplement} registry; a
    module whose work is a supplement declines (naming C{module}) when
    chan_sip is not loaded, instead of loading to do nothing.
    """
    try:
        pbx.registry("sip.supplement")
    except KeyError:
        raise ModuleDeclined(f"{module} needs chan_sip") from None
    registrar.register("sip.supplement", supplement)


@implementer(ISessionSupplement)
class SessionSupplement:
    """A supplement that does nothing; subclass and override what you need."""

    method = None
    priority = 0

    def sessionBegin(self, session):
        pass

    def sessionEnd(self, session):
        pass

    def sessionDestroy(self, session):
        pass

    def incomingRequest(self, session, request):
        return False

    def incomingResponse(self, session, response):
        pass

    def outgoingRequest(self, session, request):
        pass

    def outgoingResponse(self, session, response):
        pass


@implementer(ISDPHandler)
class SDPHandler:
    """An SDP handler that claims nothing; subclass for a media type."""

    mediaType = "audio"
    name = "none"

    def negotiateIncomingStream(self, session, stream, offer, media):
        return None

    def createOutgoingStream(self, session, stream):
        return None

    def applyNegotiatedStream(self, session, stream, local, remote):
        pass

    def streamStop(self, session, stream):
        pass

    def streamDestroy(self, session, stream):
        pass


@implementer(ISIPService)
class SIPService:
    """An out-of-dialog hook that answers nothing."""

    name = "none"
    priority = 0
    methods = ()

    def requestReceived(self, request, serverTransaction):
        return False
