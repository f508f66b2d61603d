"""
Encrypted media with a softphone nobody on this project wrote: two baresip
phones call each other through the PBX (Dial(SIP/bob)), each with its own
media encryption, and each must hear the other's tone.

- SDES-SRTP: C{mediaenc=srtp-mand} over SIP/TLS; the peers have
  C{encryption=yes} and C{transport=tls}. The PBX answers and offers
  RTP/SAVP with a=crypto; keys differ per leg, so every packet is
  decrypted on one leg and encrypted again on the other.
- DTLS-SRTP with ICE: C{mediaenc=dtls_srtp} and C{medianat=ice}; the peers
  have C{dtlsenable=yes}, C{icesupport=yes}, C{encryption=yes}.
- An unencrypted offer to an C{encryption=yes} peer gets 488.

These run on an in-process PBX with their own sip.conf (not the shipped
etc/): TLS needs a certificate made by the test, and the peers need
settings the sample's phones do not have.
"""

import glob
import os
import shutil
import tempfile
import wave
from array import array

from twisted.internet import defer
from twisted.trial import unittest

from pbxcore.media.opus import opusSamples
from pbxcore.media.rtpsession import RTPSession
from pbxcore.media.securertp import SecureRTPSession
from pbxcore.media.sounds import tone
from pbxcore.media.wav import writeWav
from tests.e2e.media.support import goertzel, waitFor
from tests.e2e.media import test_softphones as plain
from tests.e2e.sip.certs import writeTLSFiles
from tests.e2e.sip_calls import support as calls

SIP_CONF = """[general]
context = guest
allowguest = no
udpbindaddr = 127.0.0.1:0
tlsenable = yes
tlsbindaddr = 127.0.0.1:0
tlscertfile = {cert}
tlsprivatekey = {key}

[phone](!)
type = friend
host = dynamic
context = calls
disallow = all
allow = ulaw
{settings}

[alice](phone)
secret = wonderland

[bob](phone)
secret = builder
"""

EXTENSIONS = """[general]
static = yes

[calls]
exten => bob,1,Dial(SIP/bob,20)
 same => n,Hangup()
"""

SDES = "transport = tls\nencryption = yes\n"
DTLS = "encryption = yes\ndtlsenable = yes\nicesupport = yes\n"


class EncryptedSoftphone(plain.Softphone):
    """A baresip phone with media encryption (and ICE) in its account."""

    def __init__(self, base, name, secret, pbxPort, source, rtpRange, transport, params, modules,
                 codec="PCMU"):
        super().__init__(base, name, secret, pbxPort, source, rtpRange)
        with open(os.path.join(self.folder, "accounts"), "w") as f:
            f.write(f"<sip:{name}@127.0.0.1:{pbxPort};transport={transport}>;auth_pass={secret};"
                    f"regint=60;answermode=auto;audio_codecs={codec};{params}\n")
        with open(os.path.join(self.folder, "config"), "a") as f:
            for module in modules:
                f.write(f"module {module}\n")


class EncryptedCallTests(unittest.TestCase):
    timeout = 90
    def registered(self, name):
        return bool(self.sip.location.contacts(name, self.sip.now()))

    def _bothFlowing(self):
        engine = getattr(self.pbx, "rtpEngine", None)
        return engine is not None and len(engine.sessions) == 2 and all(
            s.incoming.received > 100 for s in engine.sessions)

    def setUp(self):
        plain.baresipPath()
        self.base = tempfile.mkdtemp(prefix="txpbx-srtp-")
        self.addCleanup(shutil.rmtree, self.base, True)
        self.paths, _ = writeTLSFiles(os.path.join(self.base, "tls"), ["127.0.0.1", "localhost"])

    @defer.inlineCallbacks
    def startPBX(self, settings):
        self.pbx, self.sipPort = yield calls.startPBX(self, extra={
            "sip.conf": SIP_CONF.format(cert=self.paths["cert"], key=self.paths["key"],
                                        settings=settings),
            "extensions.conf": EXTENSIONS,
            "rtp.conf": "[general]\nrtpstart = 34200\nrtpend = 34300\n"})
        self.sip = self.pbx.loader.modules["chan_sip"].module.peers
        stack = self.pbx.loader.modules["chan_sip"].module.stack
        self.tlsPort = [p.getHost().port for p in stack.listening
                        if getattr(p, "getHost", None) and p.getHost().type == "TCP"][0]

    def phones(self, transport, port, params, modules, codec="PCMU"):
        sources = {}
        for name, frequency in (("alice", 1000), ("bob", 700)):
            sources[name] = os.path.join(self.base, f"{name}.wav")
            with open(sources[name], "wb") as f:
                f.write(writeWav("slin", tone((frequency,), 8000, 8000)))
        alice = EncryptedSoftphone(self.base, "alice", "wonderland", port,
                                   f"aufile,{sources['alice']}", (35400, 35500),
                                   transport, params, modules, codec)
        bob = EncryptedSoftphone(self.base, "bob", "builder", port,
                                 f"aufile,{sources['bob']}", (35600, 35700),
                                 transport, params, modules, codec)
        return alice, bob

    def assertHeard(self, phone, expected):
        """The tone the phone decoded (8 kHz for G.711, 16 kHz for G.722, 48 kHz stereo for Opus)."""
        (decoded,) = glob.glob(os.path.join(phone.dump, "*-dec.wav"))
        with wave.open(decoded, "rb") as f:
            rate, channels = f.getframerate(), f.getnchannels()
            # The first channel (baresip decodes Opus in stereo).
            samples = array("h", f.readframes(f.getnframes()))[::channels]
        self.assertGreater(len(samples), rate * 1.5, f"{phone.name} heard less than 1.5 s")
        loud = [i for i, s in enumerate(samples) if abs(s) > 2000]
        self.assertTrue(loud, f"{phone.name}'s recording is silent")
        window = samples[loud[0] + rate // 10:loud[0] + rate // 10 + rate]
        powers = {f: goertzel(window, f, rate) for f in (400, 700, 1000, 1300, 2000)}
        self.assertEqual(max(powers, key=powers.get), expected, (phone.name, powers))
        other = 700 if expected == 1000 else 1000
        self.assertGreater(powers[expected], 100 * powers[other])

    @defer.inlineCallbacks
    def callAndListen(self, alice, bob, suite, port):
        for phone in (alice, bob):
            phone.start()
            self.addCleanup(phone.stop)
        try:
            yield waitFor(lambda: self.registered("alice") and self.registered("bob"), 15)
        except AssertionError:
            self.fail("softphones did not register:\n" + alice.process.text()[-2000:]
                      + bob.process.text()[-2000:])
        yield alice.command("dial", f"sip:bob@127.0.0.1:{port}")
        try:
            yield waitFor(self._bothFlowing, 20)
        except AssertionError:
            self.fail("no media both ways:\n" + alice.process.text()[-3000:]
                      + bob.process.text()[-3000:])
        engine = self.pbx.rtpEngine
        for session in engine.sessions:
            self.assertIsInstance(session, SecureRTPSession)
            self.assertEqual(session.srtp.suite if session.srtp else None, suite)
            # Every packet counted was decrypted. A few failed their check:
            # what baresip sends before its side is keyed (its first RTCP).
            self.assertGreater(session.incoming.received, 100)
            self.assertLessEqual(session.stats()["srtpFailed"], 6, session.stats())
        yield alice.command("hangup")
        yield waitFor(lambda: len(self.pbx.channels) == 0, 10)
        for phone in (alice, bob):
            yield phone.stop()
        self.assertHeard(bob, 1000)
        self.assertHeard(alice, 700)

    @defer.inlineCallbacks
    def test_sdesOverTLS(self):
        yield self.startPBX(SDES)
        alice, bob = self.phones("tls", self.tlsPort, "mediaenc=srtp-mand", ("srtp.so",))
        yield self.callAndListen(alice, bob, "AES_CM_128_HMAC_SHA1_80", self.tlsPort)

    @defer.inlineCallbacks
    def test_dtlsWithIce(self):
        yield self.startPBX(DTLS)
        alice, bob = self.phones("udp", self.sipPort, "mediaenc=dtls_srtp;medianat=ice",
                                 ("srtp.so", "dtls_srtp.so", "ice.so"))
        yield self.callAndListen(alice, bob, "AES_CM_128_HMAC_SHA1_80", self.sipPort)

    @defer.inlineCallbacks
    def test_g722RelayedNativelyBetweenEncryptedLegs(self):
        """Both legs G.722 (both peers put it first): relayed as it comes, decrypted and
        encrypted again per leg, never transcoded; each phone decodes the other's tone."""
        yield self.startPBX(DTLS + "disallow = all\nallow = g722\nallow = ulaw\n")
        alice, bob = self.phones("udp", self.sipPort, "mediaenc=dtls_srtp;medianat=ice",
                                 ("srtp.so", "dtls_srtp.so", "ice.so", "g722.so"), codec="G722")
        sessions = []
        original = self._bothFlowing

        def flowing():
            ok = original()
            if ok:
                sessions[:] = list(self.pbx.rtpEngine.sessions)
            return ok
        self._bothFlowing = flowing
        yield self.callAndListen(alice, bob, "AES_CM_128_HMAC_SHA1_80", self.sipPort)
        self.assertEqual([s.sendFormat for s in sessions], ["g722", "g722"])
        self.assertEqual([s.transcoded for s in sessions], [0, 0])

    def recordPayloads(self):
        """
        Each PBX RTP session's RTP payloads as received (after SRTP decryption)
        and as sent (before encryption), by session: recorded on the real
        sessions' own receive and send paths, for the Opus test.
        """
        received, sent = {}, {}
        receive, send = RTPSession.rtpDatagram, SecureRTPSession._sendBytes

        def rtpDatagram(session, data, addr):
            if len(data) > 12:
                received.setdefault(session, []).append(bytes(data[12:]))
            return receive(session, data, addr)

        def sendBytes(session, data):
            if len(data) > 12:
                sent.setdefault(session, []).append(bytes(data[12:]))
            return send(session, data)
        self.patch(RTPSession, "rtpDatagram", rtpDatagram)
        self.patch(SecureRTPSession, "_sendBytes", sendBytes)
        return received, sent

    @defer.inlineCallbacks
    def test_opusRelayedNativelyBetweenEncryptedLegs(self):
        """
        Both legs Opus (RFC 7587; both peers put it first): every Opus packet
        one phone sends leaves the PBX towards the other with the same payload
        (decrypted and encrypted again per leg, never decoded: the PBX has no
        Opus codec), both ways; each phone decodes the other's tone.
        """
        yield self.startPBX(DTLS + "disallow = all\nallow = opus\nallow = ulaw\n")
        received, sent = self.recordPayloads()
        alice, bob = self.phones("udp", self.sipPort, "mediaenc=dtls_srtp;medianat=ice",
                                 ("srtp.so", "dtls_srtp.so", "ice.so", "opus.so"), codec="opus")
        sessions = []
        original = self._bothFlowing

        def flowing():
            ok = original()
            if ok:
                sessions[:] = list(self.pbx.rtpEngine.sessions)
            return ok
        self._bothFlowing = flowing
        yield self.callAndListen(alice, bob, "AES_CM_128_HMAC_SHA1_80", self.sipPort)
        self.assertEqual([s.sendFormat for s in sessions], ["opus", "opus"])
        self.assertEqual([s.transcoded for s in sessions], [0, 0])
        first, second = sessions
        for source, target in ((first, second), (second, first)):
            relayed = sent.get(target, [])
            self.assertGreater(len(relayed), 100)
            # Packet for packet: what went out on one leg is what came in on the other.
            self.assertEqual(set(relayed) - set(received.get(source, [])), set())
            self.assertTrue(all(opusSamples(p) == 960 for p in relayed[10:-10]),
                            "not 20 ms Opus packets")

    @defer.inlineCallbacks
    def test_plainOfferToEncryptedPeerGets488(self):
        yield self.startPBX(DTLS)
        alice, bob = self.phones("udp", self.sipPort, "medianat=ice", ("ice.so",))
        for phone in (alice, bob):
            phone.start()
            self.addCleanup(phone.stop)
        yield waitFor(lambda: self.registered("alice") and self.registered("bob"), 15)
        yield alice.command("dial", f"sip:bob@127.0.0.1:{self.sipPort}")
        try:
            yield waitFor(lambda: "488 Not Acceptable Here" in alice.process.text(), 15)
        except AssertionError:
            self.fail("no 488:\n" + alice.process.text()[-3000:])
        self.assertEqual(len(self.pbx.channels), 0)
        self.assertNotIn("Call established", bob.process.text())
