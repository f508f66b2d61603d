"""
Encrypted media on one RTP session: SRTP keyed by SDES or DTLS-SRTP, ICE-lite
connectivity checks and rtcp-mux, all on the session's own RTP port.

L{SecureRTPSession} is an L{RTPSession} whose datagrams are told apart
first (RFC 7983): STUN goes to the ICE-lite agent (answered at once; the
nominated pair becomes the remote address), DTLS to the handshake
(L{pbxcore.media.dtls}), RTP and RTCP (rtcp-mux, RFC 5761) are unprotected
and then handled exactly as plain RTP is. What goes out is protected last,
in C{_sendBytes} / C{_sendRtcpBytes}, so the relay path and the frame path
of the plain session are shared: a call between an encrypted leg and a
plain one is decrypted on one leg and re-encrypted (or not) on the other.

Nothing is sent before SRTP is keyed (DTLS not finished): such packets are
counted in C{unkeyed}. The DTLS retransmission deadline joins the
session's one timer.
"""

from __future__ import annotations

from pbxcore.media import demux
from pbxcore.media.dtls import CLIENT, DTLSEndpoint, DTLSError
from pbxcore.media.ice import IceLiteAgent
from pbxcore.media.rtpsession import RTPSession
from pbxcore.media.srtp import SRTPContext, SRTPError

__all__ = ["SecureRTPSession"]


class SecureRTPSession(RTPSession):
    """
    An RTP session with SRTP. Configure with L{useSDES} or L{useDTLS},
    optionally L{useICE}; C{rtcpMux} sends and takes RTCP on the RTP port.
    C{onSecure(session)} is called once SRTP is keyed; C{onFailure(reason)}
    when DTLS fails (the call cannot be encrypted).
    """

    def __init__(self, engine, rtcpMux=False, onSecure=None, onFailure=None, **kw):
        super().__init__(engine, **kw)
        self.rtcpMux = rtcpMux
        self.srtp: SRTPContext | None = None
        self.dtls: DTLSEndpoint | None = None
        self.ice: IceLiteAgent | None = None
        self.onSecure = onSecure
        self.onFailure = onFailure
        self.unkeyed = 0
        self.srtpFailed = 0
        self.stunAnswered = 0

    # -- configuration -------------------------------------------------------------

    def useSDES(self, suite, localKey, remoteKey):
        """SDES (RFC 4568): our key from our a=crypto, theirs from theirs."""
        self.srtp = SRTPContext(suite, localKey, remoteKey)
        self._keyed()

    def useDTLS(self, certificate, role, remoteFingerprint=None):
        """DTLS-SRTP: C{role} CLIENT starts the handshake once the far end is known."""
        if self.dtls is None or self.dtls.role != role:
            self.dtls = DTLSEndpoint(certificate, role, remoteFingerprint)
        else:
            self.dtls.remoteFingerprint = remoteFingerprint
        self._startDTLS()

    def useICE(self, agent=None):
        """Answer connectivity checks; media goes to the pair the far end nominates."""
        if self.ice is None:
            self.ice = agent or IceLiteAgent()
        return self.ice

    def setRemote(self, address, rtcpAddress=None):
        super().setRemote(address, rtcpAddress)
        if self.rtcpMux and self.remote is not None:
            self.remoteRtcp = self.remote
        self._startDTLS()

    # -- receiving -----------------------------------------------------------------

    def rtpDatagram(self, data, addr):
        if self.closed:
            return
        kind = demux.classify(data)
        if kind == demux.RTP:
            if self.srtp is None:
                self.unkeyed += 1
                return
            try:
                plain = self.srtp.unprotect(data)
            except SRTPError:
                self.srtpFailed += 1
                return
            RTPSession.rtpDatagram(self, plain, addr)
        elif kind == demux.RTCP:
            self._rtcpIn(data, addr)
        elif kind == demux.STUN and self.ice is not None:
            self._stun(data, addr)
        elif kind == demux.DTLS and self.dtls is not None:
            self._dtlsIn(data, addr)
        else:
            self.dropped += 1

    def rtcpDatagram(self, data, addr):
        # The RTCP port (no rtcp-mux): SRTCP, or a STUN check for component 2.
        if self.closed:
            return
        if demux.classify(data) == demux.STUN and self.ice is not None:
            result = self.ice.receive(data, addr)
            if result.response is not None and self._ports:
                self._ports[1].write(result.response, addr)
            return
        self._rtcpIn(data, addr)

    def _rtcpIn(self, data, addr):
        if self.srtp is None:
            self.unkeyed += 1
            return
        try:
            plain = self.srtp.unprotectRtcp(data)
        except SRTPError:
            self.srtpFailed += 1
            return
        RTPSession.rtcpDatagram(self, plain, addr)

    def _stun(self, data, addr):
        result = self.ice.receive(data, addr)
        if result.response is not None and self._ports:
            self._write(result.response, addr)
            self.stunAnswered += 1
        if result.valid and self.ice.selected is not None and self.ice.selected != self.remote:
            self.log.debug("ICE: media latched to {addr}", addr=self.ice.selected)
            RTPSession.setRemote(self, self.ice.selected)
            if self.rtcpMux:
                self.remoteRtcp = self.remote
            self._startDTLS()

    def _dtlsIn(self, data, addr):
        dtls = self.dtls
        wasDone = dtls.done
        try:
            out = dtls.receive(data)
        except DTLSError as e:
            self._failed(str(e))
            return
        for datagram in out:
            self._write(datagram, self.remote or addr)
        if dtls.done and not wasDone:
            self.srtp = dtls.srtp
            self._keyed()
        self._rearm()

    def _startDTLS(self):
        dtls = self.dtls
        if dtls is None or dtls.role != CLIENT or self.remote is None or not self._ports:
            return
        # An ICE stream waits for its pair: the address in SDP may be none of the far end's.
        if self.ice is not None and self.ice.selected is None:
            return
        try:
            flight = dtls.start()
        except DTLSError as e:
            self._failed(str(e))
            return
        for datagram in flight:
            self._write(datagram, self.remote)
        self._rearm()

    def _keyed(self):
        self.log.debug("SRTP keyed ({suite})", suite=self.srtp.suite)
        if self.onSecure is not None:
            self.onSecure(self)

    def _failed(self, reason):
        self.log.info("Media encryption failed: {reason}", reason=reason)
        if self.onFailure is not None:
            self.onFailure(reason)

    # -- sending -------------------------------------------------------------------

    def _write(self, data, addr):
        try:
            self._ports[0].write(data, addr)
        except OSError as e:
            self.log.debug("media send to {addr} failed: {error}", addr=addr, error=str(e))

    def _sendBytes(self, data):
        if self.srtp is None:
            self.unkeyed += 1
            return
        try:
            protected = self.srtp.protect(data)
        except SRTPError:
            self.srtpFailed += 1
            return
        super()._sendBytes(protected)

    def _sendRtcpBytes(self, data):
        if self.srtp is None:
            return
        try:
            protected = self.srtp.protectRtcp(data)
        except SRTPError:
            return
        if self.rtcpMux:
            if self.remote is not None:
                self._write(protected, self.remote)
                self.rtcpSent += 1
            return
        super()._sendRtcpBytes(protected)

    # -- timer ---------------------------------------------------------------------

    def nextDeadline(self):
        deadline = super().nextDeadline()
        dtls = self.dtls
        wait = dtls.timeout() if dtls is not None else None
        if wait is None:
            return deadline
        at = self.reactor.seconds() + wait
        return at if deadline is None else min(deadline, at)

    def _timer(self):
        dtls = self.dtls
        wait = dtls.timeout() if dtls is not None and not self.closed else None
        if wait is not None and wait < 0.01:
            for datagram in dtls.handleTimeout():
                if self.remote is not None:
                    self._write(datagram, self.remote)
            if dtls.failed:
                self._failed(dtls.failed)
        super()._timer()

    def stats(self):
        out = super().stats()
        out.update({"srtp": self.srtp.suite if self.srtp else None,
                    "srtpFailed": self.srtpFailed + (self.srtp.failed if self.srtp else 0),
                    "unkeyed": self.unkeyed, "stunAnswered": self.stunAnswered,
                    "dtls": None if self.dtls is None else ("done" if self.dtls.done else
                                                            self.dtls.failed or "handshaking")})
        return out
