"""
Two real softphones (baresip, a SIP user agent nobody on this project
wrote) register to the PBX running the shipped C{etc/} unchanged (a copy
with free ports: L{tests.sample}) as 1001 and 1002, with the sample's
secrets and its default digest (MD5, as Asterisk). 1001 calls 1002 through
the sample dialplan (C{_1XXX}: Dial(SIP/1002)), 1002 answers by itself.
Each plays a tone from a WAV file (baresip's aufile module: 1000 Hz from
1001, 700 Hz from 1002) and baresip's sndfile module records what each one
decoded: each must hear the other's tone. Then 1002 calls C{100} (Echo) and
hears its own tone back. Every call hangs up; no RTP socket stays open.

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

from twisted.internet import defer, protocol, reactor, task
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.trial import unittest

from pbxcore.media.sounds import tone
from pbxcore.media.wav import writeWav
from tests import inprocess
from tests.e2e.media.support import dominantFrequency, waitFor
from tests.sample import sampleForTest
from tests.sipp import baresipPorts

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
    """baresip's ctrl_tcp: JSON commands in netstrings; C{answered} fires with its response."""

    def __init__(self):
        self.buffer = b""
        self.answered = defer.Deferred()

    def command(self, name, params=""):
        body = json.dumps({"command": name, "params": params, "token": name}).encode()
        self.transport.write(str(len(body)).encode() + b":" + body + b",")

    def dataReceived(self, data):
        self.buffer += data
        if b'"response"' in self.buffer and not self.answered.called:
            self.answered.callback(self.buffer)

    def connectionLost(self, reason):
        if not self.answered.called:
            self.answered.callback(self.buffer)


class Softphone:
    def __init__(self, base, name, secret, pbxPort, source, rtpRange, folder=None):
        self.name = name
        self.folder = os.path.join(base, folder or name)
        self.dump = os.path.join(self.folder, "dump")
        os.makedirs(self.dump)
        self.sipPort, self.ctrlPort = baresipPorts()
        with open(os.path.join(self.folder, "config"), "w") as f:
            f.write(BARESIP_CONFIG.format(sipPort=self.sipPort, name=name, source=source,
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
        for attempt in range(50):
            try:
                control = yield connectProtocol(
                    TCP4ClientEndpoint(reactor, "127.0.0.1", self.ctrlPort), _Control())
                break
            except ConnectionRefusedError:
                # ctrl_tcp may still be starting on a busy machine.
                if attempt == 49:
                    raise AssertionError(f"{self.name}: baresip's ctrl_tcp never listened:\n"
                                         + self.process.text()[-2000:])
                yield task.deferLater(reactor, 0.1, lambda: None)
        control.command(name, params)
        # Wait for baresip's answer: closing at once can lose the command.
        timer = reactor.callLater(10, control.transport.loseConnection)
        yield control.answered
        if timer.active():
            timer.cancel()
        control.transport.loseConnection()

    @defer.inlineCallbacks
    def crash(self):
        """SIGKILL: the phone goes away without unregistering (a power cut, a reboot)."""
        if not self.process.ended.called:
            self.transport.signalProcess(signal.SIGKILL)
        yield self.process.ended

    @defer.inlineCallbacks
    def stop(self):
        if self.process.ended.called:
            return
        try:
            self.transport.signalProcess(signal.SIGTERM)
        except Exception:
            pass
        yield self.process.ended


def mediaFlowing(pbx, count):
    """C{count} RTP sessions on C{pbx}, each of which has received media."""
    engine = getattr(pbx, "rtpEngine", None)
    return engine is not None and len(engine.sessions) == count and all(
        s.incoming.received > 100 for s in engine.sessions)


class SoftphoneTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        baresipPath()
        self.base = tempfile.mkdtemp(prefix="txpbx-softphones-")
        self.addCleanup(shutil.rmtree, self.base, True)
        etc, ports = sampleForTest(self)
        self.sipPort = ports.sip
        self.pbx = yield inprocess.startPBX(self, etc)
        self.sip = self.pbx.loader.modules["chan_sip"].module.peers

    @defer.inlineCallbacks
    def waitOrExplain(self, predicate, timeout, what, *phones):
        """L{waitFor}, failing with what the phones printed and what the PBX holds."""
        try:
            yield waitFor(predicate, timeout)
        except AssertionError:
            engine = getattr(self.pbx, "rtpEngine", None)
            sessions = [(s.localPort, s.incoming.received) for s in engine.sessions] if engine else None
            self.fail(f"{what}: channels {[c.name for c in self.pbx.channels]}, rtp {sessions}\n"
                      + "\n".join(f"--- {p.name}:\n{p.process.text()[-1500:]}" for p in phones))

    def registered(self, name):
        return bool(self.sip.location.contacts(name, self.sip.now()))

    def phones(self):
        sources = {}
        for name, frequency in (("1001", 1000), ("1002", 700)):
            sources[name] = os.path.join(self.base, f"{name}.wav")
            with open(sources[name], "wb") as f:
                f.write(writeWav("slin", tone((frequency,), 8000, 8000)))
        # The sample's phones and secrets (etc/sip.conf), nothing else.
        alice = Softphone(self.base, "1001", "change-me-1001", self.sipPort,
                          f"aufile,{sources['1001']}", (35000, 35100))
        bob = Softphone(self.base, "1002", "change-me-1002", self.sipPort,
                        f"aufile,{sources['1002']}", (35200, 35300))
        return alice, bob

    @defer.inlineCallbacks
    def test_sampleTwoPhonesCallEachOtherAndEcho(self):
        alice, bob = self.phones()
        for phone in (alice, bob):
            phone.start()
            self.addCleanup(phone.stop)
        try:
            yield waitFor(lambda: self.registered("1001") and self.registered("1002"), 10)
        except AssertionError:
            self.fail("softphones did not register:\n" + alice.process.text()[-2000:]
                      + bob.process.text()[-2000:])

        yield alice.command("dial", f"sip:1002@127.0.0.1:{self.sipPort}")
        engine = lambda: getattr(self.pbx, "rtpEngine", None)
        yield self.waitOrExplain(lambda: self._flowing(2), 15, "1001 -> 1002 media", alice, bob)
        names = sorted(c.name.split("-")[0] for c in self.pbx.channels)
        self.assertEqual(names, ["SIP/1001", "SIP/1002"])
        # Every leg's media comes from the rtp.conf range, even port first.
        for session in engine().sessions:
            self.assertTrue(10000 <= session.localPort < 20000 and session.localPort % 2 == 0)
        yield alice.command("hangup")
        yield self.waitOrExplain(lambda: len(self.pbx.channels) == 0, 10, "hang-up", alice, bob)
        yield waitFor(lambda: engine().openSockets == 0, 5)
        yield self.recordingsClosed(bob, 1)
        yield self.recordingsClosed(alice, 1)
        self.assertHeard(bob, 1000, 0)
        self.assertHeard(alice, 700, 0)

        # 100 is the sample's echo test: 1002 hears its own tone.
        yield bob.command("dial", f"sip:100@127.0.0.1:{self.sipPort}")
        yield self.waitOrExplain(lambda: self._flowing(1), 15, "1002 -> 100 media", bob)
        self.assertEqual([c.name.split("-")[0] for c in self.pbx.channels], ["SIP/1002"])
        yield bob.command("hangup")
        yield self.waitOrExplain(lambda: len(self.pbx.channels) == 0, 10, "echo hang-up", bob)
        yield waitFor(lambda: engine().openSockets == 0, 5)
        for phone in (alice, bob):
            yield phone.stop()
        self.assertHeard(bob, 700, 1)

    @defer.inlineCallbacks
    def test_phoneBackOnNewPortReplacesBinding(self):
        """
        1001 registers from port A and dies without unregistering; it comes
        back from port B with a new Call-ID (a new process): 200 at once (the
        old binding is replaced, as chan_sip does), and a call to 1001 rings B.
        """
        alice, bob = self.phones()
        first = Softphone(self.base, "1001", "change-me-1001", self.sipPort,
                          "aufile," + os.path.join(self.base, "1001.wav"),
                          (35400, 35500), folder="1001-a")
        first.start()
        self.addCleanup(first.stop)
        yield waitFor(lambda: self._contactPorts("1001") == [first.sipPort], 10)
        yield first.crash()
        for phone in (alice, bob):
            phone.start()
            self.addCleanup(phone.stop)
        try:
            yield waitFor(lambda: self._contactPorts("1001") == [alice.sipPort] and self.registered("1002"), 10)
        except AssertionError:
            self.fail(f"1001 not rebound to {alice.sipPort}: {self._contactPorts('1001')}\n"
                      + alice.process.text()[-2000:])
        self.assertNotEqual(first.sipPort, alice.sipPort)
        yield bob.command("dial", f"sip:1001@127.0.0.1:{self.sipPort}")
        yield self.waitOrExplain(lambda: self._flowing(2), 15, "1002 -> 1001 media", alice, bob)
        self.assertEqual(sorted(c.name.split("-")[0] for c in self.pbx.channels), ["SIP/1001", "SIP/1002"])
        yield bob.command("hangup")
        yield waitFor(lambda: len(self.pbx.channels) == 0, 10)
        for phone in (alice, bob):
            yield phone.stop()
        self.assertHeard(alice, 700, 0)

    @defer.inlineCallbacks
    def console(self, line):
        """One command through the console a user runs (C{pbx -c etc -rx LINE}), as a subprocess."""
        import sys

        from twisted.internet.utils import getProcessOutputAndValue

        from tests.pbxprocess import ROOT

        out, err, code = yield getProcessOutputAndValue(
            sys.executable, ["-m", "pbxcore.console.cli", "-c", self.pbx.configDir, "-rx", line],
            env=dict(os.environ, PYTHONPATH=ROOT), path=ROOT)
        self.assertEqual(code, 0, err)
        return out.decode()

    @defer.inlineCallbacks
    def test_consoleShowsAndHangsUpACallAsAsterisk(self):
        """
        During a call between the sample's phones: 'core show channel' names
        the caller (sip.conf callerid "Alice" <1001>) and the connected line
        (Bob, 1002); 'sip show channels' fills user, Call-ID, format and last
        message; 'core show help' lists every command; 'channel request
        hangup all' ends the call.
        """
        alice, bob = self.phones()
        for phone in (alice, bob):
            phone.start()
            self.addCleanup(phone.stop)
        yield self.waitOrExplain(lambda: self.registered("1001") and self.registered("1002"), 10,
                                 "registration", alice, bob)
        yield alice.command("dial", f"sip:1002@127.0.0.1:{self.sipPort}")
        yield self.waitOrExplain(lambda: self._flowing(2), 15, "1001 -> 1002 media", alice, bob)
        (inbound,) = [c for c in self.pbx.channels if c.name.startswith("SIP/1001-")]
        (outbound,) = [c for c in self.pbx.channels if c.name.startswith("SIP/1002-")]

        shown = yield self.console(f"core show channel {inbound.name}")
        fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in shown.splitlines())}
        self.assertEqual((fields["Caller ID"], fields["Caller ID Name"]), ("1001", "Alice"), shown)
        self.assertEqual((fields["Connected Line ID"], fields["Connected Line ID Name"]), ("1002", "Bob"), shown)
        shown = yield self.console(f"core show channel {outbound.name}")
        fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in shown.splitlines())}
        self.assertEqual((fields["Connected Line ID"], fields["Connected Line ID Name"]), ("1001", "Alice"), shown)

        table = yield self.console("sip show channels")
        lines = table.splitlines()
        self.assertEqual(lines[0].split(), ["Peer", "User/ANR", "Call", "ID", "Format", "Hold", "Last",
                                            "Message", "Expiry", "Peer"])
        self.assertEqual(lines[-1], "2 active SIP channels")
        rows = {line[17:32].strip(): line for line in lines[1:-1]}
        self.assertEqual(sorted(rows), ["1001", "1002"], table)
        for channel in (inbound, outbound):
            row = rows[channel.driver.peer.name]
            self.assertEqual(row[:15].strip(), "127.0.0.1", row)
            self.assertEqual(row[34:49].strip(), channel.driver.session.callId[:15], row)
            # The channel's formats; the phones agree on ulaw first.
            self.assertEqual(row[51:66].strip(), "(" + "|".join(channel.nativeFormats) + ")", row)
            self.assertTrue(row[51:66].startswith("(ulaw"), row)
            self.assertEqual(row[68:71].strip(), "No", row)
            self.assertRegex(row[77:92].strip(), r"^(Rx|Tx): [A-Z]+$")
            self.assertEqual(row[104:].strip(), channel.driver.peer.name, row)

        helpText = yield self.console("core show help")
        listed = {line.split(" -- ")[0].strip() for line in helpText.splitlines() if " -- " in line}
        every = {command.name for command in self.pbx.registry("clicommand")}
        self.assertEqual(every - listed, set())
        self.assertIn("channel request hangup", listed)

        unknown = yield self.console("channel request hangup SIP/nobody-0000")
        self.assertEqual(unknown, "SIP/nobody-0000 is not a known channel\n")
        done = yield self.console("channel request hangup all")
        self.assertEqual(sorted(done.splitlines()),
                         sorted(f"Requested Hangup on channel '{c.name}'" for c in (inbound, outbound)))
        yield self.waitOrExplain(lambda: len(self.pbx.channels) == 0, 10, "hang-up", alice, bob)

    def _contactPorts(self, name):
        return [b.source.port for b in self.sip.location.contacts(name, self.sip.now())]

    @defer.inlineCallbacks
    def recordingsClosed(self, phone, count):
        """Wait until baresip has closed C{count} decoded recordings (sndfile writes the header last)."""
        def closed():
            files = glob.glob(os.path.join(phone.dump, "*-dec.wav"))
            if len(files) < count:
                return False
            try:
                for name in files:
                    with wave.open(name, "rb"):
                        pass
            except (wave.Error, EOFError):
                return False
            return True

        yield self.waitOrExplain(closed, 10, f"{phone.name}'s recordings", phone)

    def assertHeard(self, phone, expected, call):
        """The C{call}-th (from 0) recording of what C{phone} decoded has C{expected} Hz."""
        decoded = sorted(glob.glob(os.path.join(phone.dump, "*-dec.wav")), key=os.path.getmtime)
        self.assertGreater(len(decoded), call, f"{phone.name}: recordings {decoded}")
        decoded = decoded[call]
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
        """Two RTP sessions, both receiving (borrowed by the encrypted-call tests)."""
        return mediaFlowing(self.pbx, 2)

    def _flowing(self, count):
        return mediaFlowing(self.pbx, count)
