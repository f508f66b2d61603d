"""
The "SIP" channel technology and its per-call driver.

Incoming: L{SIPTechnology.incomingInvite} is chan_sip's INVITE handler. It
finds the peer (From user, then the source address of C{host=addr} peers),
authenticates it unless C{insecure=invite} and lets unknown callers into the
guest context only with C{allowguest=yes}; the session layer
(L{channels.sip.driver.session.SessionManager.incomingCall}) takes the call
(100, C{call-limit}'s 486, the SDP offer, the extension's 404); then it
creates C{SIP/peer-XXXXXXXX} and starts the dialplan on the Request-URI user.

Outgoing: C{Dial(SIP/peer)}, C{Dial(SIP/peer/exten)} and
C{Dial(SIP/exten@peer)}. L{SIPTechnology.request} refuses with a cause
(BEARERCAPABILITY_NOTAVAIL, UNREGISTERED, USER_BUSY); L{SIPDriver.call} sends
the INVITE and maps the outcome to the core: 180/183 to RINGING/PROGRESS,
200 to ANSWER, failures to hangup causes (RFC 3398).
"""

from __future__ import annotations

from twisted.logger import Logger
from zope.interface import implementer

from channels.sip.driver import mediasecurity, transfer
from channels.sip.wire.grammar import parseNameAddr, replacesOf
from channels.sip.driver.session import causeForStatus, remoteIdentity
from pbxcore.channel import CallerID, Channel
from pbxcore.errors import ChannelUnavailable
from pbxcore.frame import ChannelState, Control, HangupCause, asCause, dtmfFrame, textFrame
from pbxcore.interfaces import ChannelDriver, IChannelTechnology
from pbxcore.pickupgroups import NO_GROUPS, Groups

__all__ = ["SIPTechnology", "SIPDriver", "parseDialString"]

SUPPORTED_CODECS = ("ulaw", "alaw", "g722", "opus")
#: Codecs the PBX cannot decode or make (no Opus codec here): offered on an outgoing
#: call only when the calling leg has them first, so the call is relayed natively.
RELAY_ONLY_CODECS = ("opus",)


def offerableCodecs(codecs, calling):
    """
    C{codecs} (a peer's, in its order) less the relay-only ones the calling
    leg does not have first (C{calling}: its formats in order, or none): such
    a codec offered to this leg could only be transcoded, which the PBX cannot.
    """
    first = str(calling[0]).lower() if calling else None
    return [c for c in codecs if c not in RELAY_ONLY_CODECS or c == first]

_DIALSTATUS_CAUSES = {
    "BUSY": HangupCause.USER_BUSY,
    "CONGESTION": HangupCause.NORMAL_CIRCUIT_CONGESTION,
    "CHANUNAVAIL": HangupCause.NORMAL_CIRCUIT_CONGESTION,
    "NOANSWER": HangupCause.NO_ANSWER,
}


def parseDialString(dest: str) -> tuple[str, str | None]:
    """(peer, extension or None) of C{peer}, C{peer/exten} or C{exten@peer}."""
    dest = dest.strip()
    if "/" in dest:
        peer, _, exten = dest.partition("/")
        return peer, exten or None
    if "@" in dest:
        exten, _, peer = dest.rpartition("@")
        return peer, exten or None
    return dest, None


class SIPDriver(ChannelDriver):
    """One SIP call leg as the core sees it; the session's owner."""

    log = Logger()

    def __init__(self, technology: "SIPTechnology", peer, exten=None):
        self.technology = technology
        self.peer = peer
        self.exten = exten
        self.channel = None
        self.session = None
        self._congestion = None

    def connectedIdentity(self):
        """
        Who the caller is connected to once this outgoing leg answers (the
        caller's connected line): the peer's C{callerid}, as chan_sip gives
        its channel, else the peer's name.
        """
        if self.peer is None:
            return None
        name, number = self.peer.callerid
        return CallerID(name, number or self.peer.name)

    def attach(self, channel):
        """Drive C{channel}; the reference back is dropped at its final hangup."""
        self.channel = channel
        channel.notifyOnHangup(self._detach)

    def _detach(self, channel):
        # Channel and driver point at each other: cut the cycle once the
        # channel is gone so that both are freed by reference counting.
        if self.channel is channel:
            self.channel = None

    # -- core to driver --------------------------------------------------------

    def call(self, channel, dest, timeout):
        tech = self.technology
        peers = tech.peers
        target = peers.targetOf(self.peer) if peers is not None else None
        if target is None:
            raise ChannelUnavailable(HangupCause.SUBSCRIBER_ABSENT, f"SIP/{self.peer.name} has no address")
        uri, destination = target
        if mediasecurity.cannotEncrypt(self.peer, destination.transport.lower()):
            raise ChannelUnavailable(HangupCause.BEARERCAPABILITY_NOTAVAIL,
                                     f"SIP/{self.peer.name}: encryption=yes, but no SRTP over "
                                     f"{destination.transport} (SDES needs TLS; or dtlsenable)")
        if self.exten:
            from channels.sip.wire.uri import parseURI

            parsed = parseURI(uri)
            host = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
            params = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in parsed.params)
            uri = f"{parsed.scheme}:{self.exten}@{host}{params}"
        session = tech.sessions.newSession("uac", destination)
        session.peer = self.peer
        session.codecs = tech.codecsFor(self.peer)
        session.owner = self
        session.channelName = channel.name
        self.session = session
        host, _ = tech.sessions.localAddress(destination)
        hostText = f"[{host}]" if ":" in host else host
        number = channel.caller.number or self.peer.fromuser or "asterisk"
        fromUri = f"<sip:{_userEscape(number)}@{self.peer.fromdomain or hostText}>"
        if channel.caller.name:
            fromUri = f'"{_quote(channel.caller.name)}" {fromUri}'
        credentials = None
        if self.peer.secret:
            credentials = (self.peer.authUser or self.peer.name, self.peer.secret)
        session.startOutgoing(uri, f"<{uri}>", fromUri, credentials=credentials)
        if self.peer.timeout and self.peer.timeout > 0:
            self._congestion = tech.reactor.callLater(self.peer.timeout, self._autoCongest)

    def _autoCongest(self):
        self._congestion = None
        session, channel = self.session, self.channel
        if session is None or session.state not in ("calling", "early"):
            return
        self.log.info("SIP/{peer}: no answer within {timeout}s, congestion",
                      peer=self.peer.name, timeout=self.peer.timeout)
        session.cancel()
        if channel is not None:
            channel.controlReceived(Control.CONGESTION)

    def _stopCongestion(self):
        if self._congestion is not None and self._congestion.active():
            self._congestion.cancel()
        self._congestion = None

    def answer(self, channel):
        if self.session is not None:
            self.session.answer()

    def replaceSession(self, session):
        """
        C{session} (an INVITE with Replaces) takes over this leg: answered at
        once, the old session cancelled or hung up without the channel
        hearing of it; a channel that was ringing is answered.
        """
        old, self.session = self.session, session
        session.owner = self
        session.channelName = getattr(old, "channelName", None)
        if old is not None:
            old.owner = None
        session.answer()
        if old is not None:
            old.end(HangupCause.NORMAL_CLEARING)
        channel = self.channel
        if channel is not None and not channel.isUp:
            self._stopCongestion()
            channel.controlReceived(Control.ANSWER)

    def hangup(self, channel, cause):
        self._stopCongestion()
        session = self.session
        if session is None:
            return
        if cause in (None, HangupCause.NORMAL_CLEARING) and session.role == "uas" and not channel.isUp:
            # A caller left unanswered after Dial hears why (Asterisk keeps
            # the dial cause as the caller's hangup cause).
            cause = _DIALSTATUS_CAUSES.get(channel.getVariable("DIALSTATUS") or "", cause)
        session.end(cause if cause is not None else HangupCause.NORMAL_CLEARING)

    def writeFrame(self, channel, frame):
        if self.session is not None:
            return self.session.writeFrame(frame)
        return None

    def indicate(self, channel, control, data=None):
        session = self.session
        if session is None or session.role != "uas":
            return
        control = Control(control)
        if control == Control.RINGING:
            session.provisional(180, "Ringing")
        elif control == Control.PROGRESS:
            session.provisional(183, "Session Progress", withSDP=True)
            if session.state == "early" and session.remoteSDP is not None and not session.pendingOffer:
                # Early media: the streams of the SDP in the 183 start now.
                session.applyStreams()
        elif control == Control.BUSY:
            session.reject(486, "Busy Here")
        elif control == Control.CONGESTION:
            session.reject(503, "Service Unavailable")

    @property
    def dtmfMode(self):
        """The peer's dtmfmode (rfc2833, info, shortinfo, auto); rfc2833 without a peer."""
        return (getattr(self.peer, "dtmfmode", None) or "rfc2833").lower()

    def _sendsInfo(self):
        return self.dtmfMode in ("info", "shortinfo")

    def rtpSession(self, channel=None):
        """The RTP session of the call's audio stream (for a native bridge), or None."""
        session = self.session
        if session is None or session.state == "terminated":
            return None
        for stream in session.streams:
            if stream.mediaType == "audio":
                endpoint = stream.state.get("rtp")
                if endpoint is not None and hasattr(endpoint, "relayTo"):
                    return endpoint
        return None

    def sendDigitBegin(self, channel, digit):
        """RFC 4733 starts the event now; an INFO peer hears of the digit at its end."""
        session = self.session
        if session is None or session.state == "terminated" or self._sendsInfo():
            return
        rtp = self.rtpSession(channel)
        if rtp is not None:
            rtp.sendDigitBegin(digit)

    def sendDigitEnd(self, channel, digit, durationMs):
        session = self.session
        if session is None or session.dialog is None or session.state == "terminated":
            return
        if not self._sendsInfo():
            rtp = self.rtpSession(channel)
            if rtp is not None and rtp.sendDigitEnd(digit, durationMs):
                return
            if session.sendDigit(digit, durationMs):
                return
        body = f"Signal={digit}\r\nDuration={durationMs}\r\n".encode()
        session.sendRequest("INFO", body=body, contentType="application/dtmf-relay")

    def sendText(self, channel, text):
        session = self.session
        if session is None or session.dialog is None or session.state == "terminated":
            return
        session.sendRequest("MESSAGE", body=text.encode("utf-8"), contentType="text/plain;charset=UTF-8")

    def transfer(self, channel, dest):
        """Blind transfer of the far end: REFER it to C{dest} (an extension or a SIP URI)."""
        session = self.session
        if session is None or session.state != "confirmed":
            raise ChannelUnavailable(HangupCause.WRONG_CALL_STATE, "no established SIP call to transfer")
        if ":" not in dest:
            host, port = self.technology.sessions.localAddress(session.destination)
            dest = f"sip:{dest}@{host}:{port}"
        session.sendRequest("REFER", headers=[("Refer-To", f"<{dest}>"),
                                              ("Referred-By", session.contact())])

    # -- session to driver ------------------------------------------------------

    def sessionRinging(self, session, response):
        if self.channel is not None:
            self.channel.controlReceived(Control.RINGING)

    def sessionProgress(self, session, response):
        if self.channel is not None:
            self.channel.controlReceived(Control.PROGRESS)

    def sessionAnswered(self, session, response):
        self._stopCongestion()
        if self.channel is not None:
            self.channel.controlReceived(Control.ANSWER)

    def sessionFailed(self, session, response):
        self._stopCongestion()
        channel = self.channel
        if channel is None:
            return
        cause = causeForStatus(response.status)
        channel.setVariable("SIP_CAUSE", f"SIP {response.status} {response.reason}")
        if channel.hangupCause is None:
            channel.hangupCause = asCause(cause)
        channel.hungUp(cause)

    def sessionTerminated(self, session, cause):
        self._stopCongestion()
        channel = self.channel
        if channel is not None:
            if channel.hangupCause is None:
                channel.hangupCause = asCause(cause)
            channel.hungUp(cause)

    def releaseSession(self, session):
        # The session is over and points at this driver: let go of it.
        if self.session is session:
            self.session = None

    def sessionHold(self, session, held):
        if self.channel is not None:
            self.channel.controlReceived(Control.HOLD if held else Control.UNHOLD)

    def sessionDigit(self, session, digit, durationMs):
        channel = self.channel
        if channel is not None:
            channel.frameReceived(dtmfFrame(digit, False))
            channel.frameReceived(dtmfFrame(digit, True, durationMs))

    def sessionFrame(self, session, frame):
        channel = self.channel
        if channel is not None:
            channel.frameReceived(frame)

    def sessionMessage(self, session, request):
        channel = self.channel
        if channel is not None and request.body:
            channel.frameReceived(textFrame(request.body.decode("utf-8", "replace")))

    def sessionRefer(self, session, request, st):
        return self.technology.blindTransfer(self, session, request, st)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _userEscape(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="-_.!~*'()&=+$,;?/")


@implementer(IChannelTechnology)
class SIPTechnology:
    """The SIP technology; C{registrar} (chan_sip's) is held by every live channel."""

    log = Logger()
    name = "SIP"
    description = "Session Initiation Protocol (SIP)"
    capabilities = SUPPORTED_CODECS

    def __init__(self, pbx, stack, sessions, registrar=None, reactor=None):
        self.pbx = pbx
        self.stack = stack
        self.sessions = sessions
        self.registrar = registrar
        self.reactor = reactor if reactor is not None else sessions.reactor
        self.inUse: dict[str, int] = {}

    @property
    def peers(self):
        return getattr(self.stack, "peers", None)

    def codecsFor(self, peer) -> list[str]:
        allow = list(getattr(peer, "allow", None) or [])
        if not allow and self.peers is not None and self.peers.config.defaults is not None:
            allow = list(self.peers.config.defaults.allow)
        return [c for c in allow if c in SUPPORTED_CODECS] or []

    # -- device state and call counting ----------------------------------------------

    def deviceState(self, resource):
        name = resource.split("/", 1)[0]
        peers = self.peers
        if peers is None:
            return "INVALID"
        peer = peers.peerFor(name)
        if peer is None:
            return "INVALID"
        used = self.inUse.get(peer.name.lower(), 0)
        if peer.callLimit and used >= peer.callLimit:
            return "BUSY"
        state = peers.deviceState(peer.name)
        if used and state not in ("UNAVAILABLE", "INVALID"):
            return "INUSE"
        return state

    def _track(self, peer, channel):
        if peer is None:
            return
        key = peer.name.lower()
        self.inUse[key] = self.inUse.get(key, 0) + 1
        limit = peer.callLimit
        if limit and self.inUse[key] >= limit:
            self._deviceChanged(peer)  # now BUSY; channel events cover the rest

        def gone(_):
            left = self.inUse.get(key, 1) - 1
            if left <= 0:
                self.inUse.pop(key, None)
            else:
                self.inUse[key] = left
            if left <= 0 or (limit and left + 1 >= limit):
                # the Hangup event came before this count dropped: say it again
                self._deviceChanged(peer)

        channel.notifyOnHangup(gone)

    def _deviceChanged(self, peer):
        devicestate = getattr(self.pbx, "devicestate", None)
        if devicestate is not None:
            try:
                devicestate.deviceStateChanged(f"SIP/{peer.name}")
            except Exception:
                self.log.failure("device state of SIP/{peer}", peer=peer.name)

    def _overLimit(self, peer) -> bool:
        return bool(peer is not None and peer.callLimit
                    and self.inUse.get(peer.name.lower(), 0) >= peer.callLimit)

    # -- outgoing ---------------------------------------------------------------------

    def request(self, pbx, dest, formats, requestor):
        peerName, exten = parseDialString(dest)
        peers = self.peers
        if peers is None or not peerName:
            raise ChannelUnavailable(HangupCause.SUBSCRIBER_ABSENT, f"no SIP peer for {dest!r}")
        peer = peers.checkDialable(peerName)
        codecs = self.codecsFor(peer)
        if formats:
            wanted = {f.lower() for f in formats}
            codecs = [c for c in codecs if c in wanted]
        # Dial() names no formats: the calling channel's (negotiated, in order) decide.
        codecs = offerableCodecs(codecs, formats or getattr(requestor, "nativeFormats", None))
        if not codecs:
            raise ChannelUnavailable(HangupCause.BEARERCAPABILITY_NOTAVAIL,
                                     f"no common format with SIP/{peer.name}")
        if self._overLimit(peer):
            self.log.info("SIP/{peer} is at its call-limit of {limit}", peer=peer.name, limit=peer.callLimit)
            raise ChannelUnavailable(HangupCause.USER_BUSY, f"SIP/{peer.name} is at its call-limit")
        driver = SIPDriver(self, peer, exten)
        channel = Channel(pbx, pbx.channels.makeName("SIP", peer.name), self, driver,
                          requestor=requestor, nativeFormats=tuple(codecs),
                          context=peer.context, exten=exten or "s")
        driver.attach(channel)
        self._track(peer, channel)
        channel.groups = peerGroups(peer)
        return channel

    # -- incoming ---------------------------------------------------------------------

    def _matchPeer(self, request, source):
        peers = self.peers
        fromAddr = request.fromAddr
        user = getattr(getattr(fromAddr, "uri", None), "user", None)
        if user:
            peer = peers.peerFor(user)
            if peer is not None and getattr(peer, "type", "friend") in ("friend", "user"):
                return peer
        host = getattr(source, "host", None)
        if host:
            for peer in peers.config.peers.values():
                if peer.dynamic or peer.host != host:
                    continue
                if peer.port in (None, source.port) or "port" in peer.insecure:
                    return peer
        return None

    def _caller(self, request, st):
        """
        (True, peer or None) for the caller of C{request} -- authenticated
        unless C{insecure=invite}, a guest only with C{allowguest} -- or
        (False, None) once it has been answered (challenged or refused).
        """
        peers = self.peers
        peer = self._matchPeer(request, st.source)
        if peer is not None and "invite" not in peer.insecure:
            peer = peers.auth.authenticateRequest(request, st, peerHint=peer)
            return peer is not None, peer
        if peer is None and not (peers.config.settings.allowguest
                                 and not request.headers.get("Authorization")):
            peer = peers.auth.authenticateRequest(request, st, None)
            return peer is not None, peer
        return True, peer

    def incomingInvite(self, request, st):
        """
        chan_sip's INVITE handler (out of dialog): the peer and its channel.
        The call itself (media check, 100, SDP, the 404 decision) is the
        session layer's L{SessionManager.incomingCall}.
        """
        if not self.sessions.mediaAcceptable(request, st):
            return
        peers = self.peers
        if peers is None:
            self.stack.userAgent.respond(st, request, 503, "Service Unavailable")
            return
        replaces = replacesOf(request)  # SIPParseError: 400 from the user agent, before any challenge
        found, peer = self._caller(request, st)
        if not found:
            return
        context = peer.context if peer is not None else peers.config.settings.context
        peers.forceRport(request, st.source)
        if replaces is not None:
            self._replace(request, st, peer, replaces)
            return
        busy = self._overLimit(peer)
        call = self.sessions.incomingCall(
            request, st, peer, self.codecsFor(peer if peer is not None else peers.config.defaults),
            context, getattr(self.pbx, "dialplan", None), busy=busy)
        if call is None:
            if busy:
                self._deviceChanged(peer)
            return
        session, exten, (name, number) = call
        if peer is not None:
            # chan_sip: an authenticated peer's callerid names the caller.
            name, number = peer.callerid[0] or name, peer.callerid[1] or number
        resource = peer.name if peer is not None else st.source.host
        driver = SIPDriver(self, peer, exten)
        formats = tuple(self._negotiatedCodecs(session)) or tuple(session.codecs) or ("ulaw",)
        channel = Channel(self.pbx, self.pbx.channels.makeName("SIP", resource), self, driver,
                          state=ChannelState.RING, context=context, exten=exten,
                          caller=CallerID(name, number), nativeFormats=formats,
                          language=(peer.language or None) if peer is not None else None,
                          accountcode=peer.accountcode if peer is not None else "")
        channel.setVariable("SIPCALLID", request.callId)
        channel.groups = peerGroups(peer)
        driver.attach(channel)
        driver.session = session
        session.owner = driver
        session.channelName = channel.name
        self._track(peer, channel)
        d = self.pbx.runDialplan(channel)
        d.addErrback(lambda f: self.log.failure("starting the dialplan on {channel}", f, channel=channel.name))

    def _replace(self, request, st, peer, replaces):
        """
        RFC 3891: the INVITE takes over the dialog its Replaces names -- a
        ringing call of ours (call pickup) or an established one (completing
        an attended transfer); the channel stays where it is, in its bridge.
        """
        target, refusal = self.sessions.replacedSession(replaces)
        driver = target.owner if target is not None else None
        if refusal is None and (not isinstance(driver, SIPDriver) or driver.channel is None):
            refusal = (481, "Call/Transaction Does Not Exist")
        if refusal is not None:
            self.log.info("INVITE {callId} with Replaces: {status}", callId=request.callId,
                          status=refusal[0])
            self.stack.userAgent.respond(st, request, *refusal)
            return
        peers = self.peers
        codecs = self.codecsFor(peer if peer is not None else peers.config.defaults)
        session = self.sessions.takeInvite(request, st, peer, codecs)
        if session is not None:
            driver.replaceSession(session)

    def incomingMessage(self, request, st):
        """
        An out-of-dialog MESSAGE: run the dialplan of the sender's context at
        the To user on a C{Message/ast_msg_queue} channel holding it, which
        the MESSAGE() function (app_message) reads.
        """
        ua = self.stack.userAgent
        peers = self.peers
        contentType = (request.contentType or "text/plain").split(";")[0].strip().lower()
        if not contentType.startswith("text/"):
            ua.respond(st, request, 415, "Unsupported Media Type", [("Accept", "text/plain")])
            return
        peer = self._matchPeer(request, st.source) if peers is not None else None
        context = peer.context if peer is not None else (peers.config.settings.context if peers else "default")
        if peer is not None and "message_context" in getattr(peer, "extra", {}):
            context = peer.extra["message_context"]
        to = getattr(request.requestURI, "user", None) or getattr(getattr(request.toAddr, "uri", None), "user", None) or "s"
        dialplan = getattr(self.pbx, "dialplan", None)
        if dialplan is None or dialplan.find(context, to, 1, None) is None:
            ua.respond(st, request, 404, "Not Found")
            return
        ua.respond(st, request, 202, "Accepted")
        name, number = remoteIdentity(request)
        channel = Channel(self.pbx, "Message/ast_msg_queue", None, None, state=ChannelState.UP,
                          context=context, exten=to, caller=CallerID(name, number))
        fromAddr = request.fromAddr
        channel.datastores["message"] = {
            "to": str(request.toAddr.uri) if request.toAddr is not None else request.uri,
            "from": str(fromAddr) if fromAddr is not None else "",
            "body": (request.body or b"").decode("utf-8", "replace"),
        }
        d = self.pbx.runDialplan(channel)
        d.addErrback(lambda f: self.log.failure("running the dialplan for a MESSAGE", f))

    def noDialog(self, request, st):
        """In-dialog methods that arrive without a dialog (no To tag)."""
        self.stack.userAgent.respond(st, request, 481, "Call/Transaction Does Not Exist")

    def _negotiatedCodecs(self, session):
        for stream in session.streams:
            codecs = stream.state.get("codecs")
            if codecs:
                return [name for _, name in codecs]
        return []

    # -- transfer ------------------------------------------------------------------------

    def blindTransfer(self, driver, session, request, st) -> bool:
        """
        REFER from the far end of C{driver}'s channel: send the party it is
        bridged with to the Refer-To extension (RFC 3515 with NOTIFY progress).
        """
        channel = driver.channel
        try:
            target = parseNameAddr(request.headers.get("Refer-To").strip())
        except Exception:
            session.respond(request, 400, "Bad Refer-To", st=st)
            return True
        uri = target.uri
        replaces = transfer.replacesOfURI(uri)
        if replaces is not None:
            return transfer.attendedTransfer(self, driver, session, request, st, replaces)
        exten = getattr(uri, "user", None) or ""
        bridge = getattr(channel, "bridge", None) if channel is not None else None
        others = [c for c in (bridge.channels if bridge is not None else []) if c is not channel]
        if not exten or not others:
            session.respond(request, 603, "Declined", st=st)
            return True
        transferee = others[0]
        context = (channel.getVariable("TRANSFER_CONTEXT")
                   or (driver.peer.context if driver.peer is not None else None) or channel.context)
        dialplan = getattr(self.pbx, "dialplan", None)
        if dialplan is None or dialplan.find(context, exten, 1, transferee.caller.number or None) is None:
            session.respond(request, 404, "Not Found", st=st)
            return True
        session.respond(request, 202, "Accepted", st=st)
        session.notifyRefer("SIP/2.0 100 Trying", final=False)
        ok = self.canRedirect(transferee)
        session.notifyRefer("SIP/2.0 200 OK" if ok else "SIP/2.0 503 Service Unavailable", final=True)
        if ok:
            # Asterisk names the transferer to the transferee (Park() uses
            # it as the parker that comebacktoorigin rings again).
            transferee.setVariable("BLINDTRANSFER", channel.name)
            # After the NOTIFYs: moving the transferee ends the transferor's
            # leg (a BYE), which must not overtake them.
            self.reactor.callLater(0, self.redirect, transferee, context, exten)
        return True

    def canRedirect(self, channel) -> bool:
        driver = channel.driver
        return isinstance(driver, SIPDriver) and driver.session is not None and not channel.hangupRequested

    def redirect(self, channel, context, exten) -> bool:
        """
        Move C{channel}'s SIP call out of whatever runs it now into the
        dialplan at exten@context: a new channel takes the session over and
        the old one is hung up without signalling (a masquerade).
        """
        driver = channel.driver
        if not self.canRedirect(channel):
            self.log.info("cannot transfer {channel}: not a SIP channel", channel=channel.name)
            return False
        resource = driver.peer.name if driver.peer is not None else driver.session.destination.host
        new = Channel(self.pbx, self.pbx.channels.makeName("SIP", resource), self, driver,
                      state=channel.state, context=context, exten=exten,
                      caller=channel.caller.copy(), connected=channel.connected.copy(),
                      language=channel.language, accountcode=channel.accountcode,
                      linkedid=channel.linkedid, nativeFormats=channel.nativeFormats)
        for name, value in channel.variables.items():
            new.variables.setdefault(name, value)
        channel.driver = None
        driver.attach(new)
        self._track(driver.peer, new)
        channel.softHangup(HangupCause.NORMAL_CLEARING, "transfer")
        d = self.pbx.runDialplan(new)
        d.addErrback(lambda f: self.log.failure("starting the dialplan on {channel}", f, channel=new.name))
        return True


def peerGroups(peer):
    """A peer's call and pickup groups (sip.conf callgroup, pickupgroup, named...)."""
    if peer is None:
        return NO_GROUPS
    values = {key: ",".join(peer.extra.get(key, ())) for key in
              ("callgroup", "pickupgroup", "namedcallgroup", "namedpickupgroup")}
    try:
        return Groups.fromSettings(values)
    except ValueError as e:
        SIPTechnology.log.warn("SIP/{peer}: bad call or pickup group: {error}",
                               peer=peer.name, error=str(e))
        return NO_GROUPS


def installCalls(pbx, stack, registrar, reactor=None):
    """
    Wire calls into a loaded chan_sip: the supplement, SDP-handler and
    out-of-dialog service registries (for later modules), the session
    manager, the INVITE and MESSAGE handlers and the "SIP" technology.
    Everything goes through C{registrar}.
    """
    from channels.sip.interfaces import ISDPHandler, ISessionSupplement, ISIPService
    from channels.sip.driver.session import SessionManager
    from pbxcore.registry import OrderedRegistry

    if reactor is None:
        reactor = getattr(pbx, "reactor", None)
    supplements = registrar.provide(
        "sip.supplement", OrderedRegistry("sip.supplement", ISessionSupplement, priorityAttribute="priority"))
    handlers = registrar.provide("sip.sdphandler", OrderedRegistry("sip.sdphandler", ISDPHandler))
    services = registrar.provide(
        "sip.service", OrderedRegistry("sip.service", ISIPService, priorityAttribute="priority"))
    stack.userAgent.services = services

    def withdrawServices():
        if stack.userAgent.services is services:
            stack.userAgent.services = None

    registrar.addCleanup(withdrawServices)
    sessions = SessionManager(stack, supplements, handlers, reactor=reactor)
    registrar.addCleanup(sessions.install())
    technology = SIPTechnology(pbx, stack, sessions, registrar, reactor=sessions.reactor)
    registrar.register("technology", technology)
    registrar.addCleanup(stack.userAgent.registerMethod("INVITE", technology.incomingInvite))
    registrar.addCleanup(stack.userAgent.registerMethod("MESSAGE", technology.incomingMessage))
    tags = {"100rel", "replaces"} - stack.userAgent.supported
    stack.userAgent.supported |= tags
    registrar.addCleanup(lambda: stack.userAgent.supported.difference_update(tags))
    for method in ("INFO", "REFER", "NOTIFY", "UPDATE", "PRACK"):
        registrar.addCleanup(stack.userAgent.registerMethod(method, technology.noDialog))
    stack.sessions = sessions
    stack.technology = technology
    return technology
