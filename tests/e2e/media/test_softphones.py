"""
Two real softphones (baresip, a SIP user agent nobody on this project
wrote) register to the PBX with digest authentication; alice calls bob
through the dialplan (Dial(SIP/bob)), bob answers by itself. Each plays a
tone from a WAV file (baresip's aufile module: 1000 Hz from alice, 700 Hz
from bob) and baresip's sndfile module records what each one decoded: each
must hear the other's tone. Both hang up; no RTP socket
stays open.

Needs the Debian package baresip-core (installed by .ci/run).
"""

import glob
import json
import os
import shutil
import signal
import tempfile
import wave
from array import array

from twisted.internet import defer, protocol, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.trial import unittest

from pbxcore.media.sounds import tone
from pbxcore.media.wav import writeWav
from tests.e2e.media.support import dominantFrequency, waitFor
from tests.e2e.sip_calls import support as calls
from tests.e2e.sip_calls.support import freePort

SIP_CONF = """[general]
context = guest
allowguest = no
udpbindaddr = 127.0.0.1:0
authalgorithms = md5

[alice]
type = friend
host = dynamic
secret = wonderland
context = calls
disallow = all
allow = ulaw

[bob]
type = friend
host = dynamic
secret = builder
context = calls
disallow = all
allow = ulaw
"""

EXTENSIONS = """[general]
static = yes

[calls]
exten => bob,1,Dial(SIP/bob,20)
 same => n,Hangup()
"""

BARESIP_CONFIG = """poll_method epoll
net_interface 127.0.0.1
sip_listen 127.0.0.1:{sipPort}
audio_player aubridge,{name}-out
audio_source {source}
audio_alert aubridge,{name}-alert
ausrc_srate 8000
auplay_srate 8000
ausrc_channels 1
auplay_channels 1
rtp_ports {rtpStart}-{rtpEnd}
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module_tmp account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{ctrlPort}
snd_path {dump}
"""


def baresipPath():
    path = shutil.which("baresip")
    if path is None:
        raise AssertionError("baresip is not installed (Debian package baresip-core); "
                             "this test needs it")
    return path


class _Output(protocol.ProcessProtocol):
    def __init__(self):
        self.output = []
        self.ended = defer.Deferred()

    def outReceived(self, data):
        self.output.append(data)

    errReceived = outReceived

    def processEnded(self, reason):
        self.ended.callback(None)

    def text(self):
        return b"".join(self.output).decode("utf-8", "replace")


class _Control(protocol.Protocol):
    """baresip's ctrl_tcp: JSON commands in netstrings."""

    def command(self, name, params=""):
        body = json.dumps({"command": name, "params": params, "token": name}).encode()
        self.transport.write(str(len(body)).encode() + b":" + body + b",")


class Softphone:
    def __init__(self, base, name, secret, pbxPort, source, rtpRange):
        self.name = name
        self.folder = os.path.join(base, name)
        self.dump = os.path.join(self.folder, "dump")
        os.makedirs(self.dump)
        self.ctrlPort = freePort()
        with open(os.path.join(self.folder, "config"), "w") as f:
            f.write(BARESIP_CONFIG.format(sipPort=freePort(), name=name, source=source,
                                          rtpStart=rtpRange[0], rtpEnd=rtpRange[1],
                                          ctrlPort=self.ctrlPort, dump=self.dump))
        with open(os.path.join(self.folder, "accounts"), "w") as f:
            f.write(f"<sip:{name}@127.0.0.1:{pbxPort};transport=udp>;auth_pass={secret};"
                    f"regint=60;answermode=auto;audio_codecs=PCMU\n")
        self.process = _Output()

    def start(self):
        self.transport = reactor.spawnProcess(self.process, baresipPath(),
                                              [baresipPath(), "-f", self.folder],
                                              env=dict(os.environ))

    @defer.inlineCallbacks
    def command(self, name, params=""):
        control = yield connectProtocol(
            TCP4ClientEndpoint(reactor, "127.0.0.1", self.ctrlPort), _Control())
        control.command(name, params)
        control.transport.loseConnection()

    @defer.inlineCallbacks
    def stop(self):
        if self.process.ended.called:
            return
        try:
            self.transport.signalProcess(signal.SIGTERM)
        except Exception:
            pass
        yield self.process.ended


class SoftphoneTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        baresipPath()
        self.base = tempfile.mkdtemp(prefix="txpbx-softphones-")
        self.addCleanup(shutil.rmtree, self.base, True)
        self.pbx, self.sipPort = yield calls.startPBX(self, extra={
            "sip.conf": SIP_CONF, "extensions.conf": EXTENSIONS,
            "rtp.conf": "[general]\nrtpstart = 34000\nrtpend = 34100\n"})
        self.sip = self.pbx.loader.modules["chan_sip"].module.peers

    def registered(self, name):
        return bool(self.sip.location.contacts(name, self.sip.now()))

    @defer.inlineCallbacks
    def test_toneFromAliceIsHeardByBob(self):
        sources = {}
        for name, frequency in (("alice", 1000), ("bob", 700)):
            sources[name] = os.path.join(self.base, f"{name}.wav")
            with open(sources[name], "wb") as f:
                f.write(writeWav("slin", tone((frequency,), 8000, 8000)))
        alice = Softphone(self.base, "alice", "wonderland", self.sipPort,
                          f"aufile,{sources['alice']}", (35000, 35100))
        bob = Softphone(self.base, "bob", "builder", self.sipPort,
                        f"aufile,{sources['bob']}", (35200, 35300))
        for phone in (alice, bob):
            phone.start()
            self.addCleanup(phone.stop)
        try:
            yield waitFor(lambda: self.registered("alice") and self.registered("bob"), 10)
        except AssertionError:
            self.fail("softphones did not register:\n" + alice.process.text()[-2000:]
                      + bob.process.text()[-2000:])

        yield alice.command("dial", f"sip:bob@127.0.0.1:{self.sipPort}")
        engine = lambda: getattr(self.pbx, "rtpEngine", None)
        yield waitFor(self._bothFlowing, 15)
        names = sorted(c.name.split("-")[0] for c in self.pbx.channels)
        self.assertEqual(names, ["SIP/alice", "SIP/bob"])
        # Every leg's media comes from the rtp.conf range, even port first.
        for session in engine().sessions:
            self.assertTrue(34000 <= session.localPort < 34100 and session.localPort % 2 == 0)

        yield alice.command("hangup")
        yield waitFor(lambda: len(self.pbx.channels) == 0, 10)
        yield waitFor(lambda: engine().openSockets == 0, 5)
        for phone in (alice, bob):
            yield phone.stop()

        self.assertHeard(bob, 1000)
        self.assertHeard(alice, 700)

    def assertHeard(self, phone, expected):
        (decoded,) = glob.glob(os.path.join(phone.dump, "*-dec.wav"))
        with wave.open(decoded, "rb") as f:
            self.assertEqual((f.getframerate(), f.getnchannels()), (8000, 1))
            samples = array("h", f.readframes(f.getnframes()))
        self.assertGreater(len(samples), 8000 * 1.5, f"{phone.name} heard less than 1.5 s")
        loud = [i for i, s in enumerate(samples) if abs(s) > 2000]
        self.assertTrue(loud, f"{phone.name}'s recording is silent")
        window = samples[loud[0] + 800:loud[0] + 8800]
        self.assertEqual(len(window), 8000)
        frequency, powers = dominantFrequency(window, (400, 700, 1000, 1300, 2000))
        self.assertEqual(frequency, expected, phone.name)
        other = 700 if expected == 1000 else 1000
        self.assertGreater(powers[expected], 100 * powers[other])

    def _bothFlowing(self):
        engine = getattr(self.pbx, "rtpEngine", None)
        return engine is not None and len(engine.sessions) == 2 and all(
            s.incoming.received > 100 for s in engine.sessions)
