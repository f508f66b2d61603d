"""Channel reads, the bounded queue, hangup semantics and the channel list."""

from twisted.trial.unittest import TestCase

from pbxcore.errors import ChannelHungUp
from pbxcore.frame import FrameKind, HangupCause, dtmfFrame, voiceFrame
from pbxcore.testing import FakePBX, TestTechnology


class ChannelTests(TestCase):

    def setUp(self):
        self.pbx = FakePBX()
        self.tech = TestTechnology.install(self.pbx)
        self.channel = self.tech.inbound(self.pbx, exten="1")
        self.channel.owned = True

    def test_readWaitsThenDelivers(self):
        d = self.channel.readFrame()
        self.assertNoResult(d)
        frame = voiceFrame("ulaw", b"\x00" * 160)
        self.channel.frameReceived(frame)
        self.assertIs(self.successResultOf(d), frame)

    def test_readTimeout(self):
        d = self.channel.readFrame(2)
        self.pbx.reactor.advance(1.9)
        self.assertNoResult(d)
        self.pbx.reactor.advance(0.1)
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(self.channel._queue.waiting, [])

    def test_fullQueueDropsOldestVoiceNotDTMF(self):
        channel = self.channel
        channel._queueSize = 3
        channel.frameReceived(dtmfFrame("1"))
        for i in range(5):
            channel.frameReceived(voiceFrame("ulaw", bytes([i]) * 160))
        self.assertEqual(channel.pendingFrames(), 3)
        frames = [self.successResultOf(channel.readFrame()) for _ in range(3)]
        self.assertEqual(frames[0].kind, FrameKind.DTMF_END)
        self.assertEqual([f.data[0] for f in frames[1:]], [3, 4])

    def test_hangupFailsPendingReads(self):
        d = self.channel.readFrame()
        self.channel.hungUp(HangupCause.USER_BUSY)
        self.failureResultOf(d, ChannelHungUp)
        self.failureResultOf(self.channel.readFrame(), ChannelHungUp)
        self.assertFalse(self.channel.isHungUp)  # owned: the owner finishes
        self.channel.hangup()
        self.assertTrue(self.channel.isHungUp)
        self.assertEqual(self.channel.hangupCause, HangupCause.USER_BUSY)
        self.assertEqual(self.channel.driver.hangups, [])  # far end already gone

    def test_softHangupOfUnownedChannelHangsUp(self):
        other = self.tech.inbound(self.pbx)
        other.softHangup(HangupCause.CALL_REJECTED)
        self.assertTrue(other.isHungUp)
        self.assertEqual(other.driver.hangups, [HangupCause.CALL_REJECTED])
        names = [e.name for e in self.pbx.eventLog if "Hangup" in e.name]
        self.assertEqual(names, ["SoftHangupRequest", "Hangup"])
        self.assertEqual(self.pbx.eventsNamed("Hangup")[0].get("Cause-txt"), "Call Rejected")

    def test_varSetAndGlobalsFallback(self):
        self.pbx.globals["G"] = "g"
        self.channel.setVariable("V", "v")
        self.assertEqual(self.channel.getVariable("G"), "g")
        self.assertEqual(self.channel.getVariable("EXTEN"), "1")
        event = self.pbx.eventsNamed("VarSet")[0]
        self.assertEqual((event.get("Variable"), event.get("Value"), event.category),
                         ("V", "v", "dialplan"))
        self.channel.setVariable("V", None)
        self.assertIsNone(self.channel.getVariable("V"))

    def test_channelList(self):
        channels = self.pbx.channels
        self.assertIs(channels.get(self.channel.name.upper()), self.channel)
        self.assertIs(channels.get(self.channel.uniqueid), self.channel)
        self.assertEqual(channels.find("Test/caller"), [self.channel])
        self.assertEqual(channels.find("/caller-0+1$/"), [self.channel])
        self.assertEqual(channels.find("SIP/"), [])
        self.channel.hangup()
        self.assertEqual(len(channels), 0)

    def test_whenHungUp(self):
        d = self.channel.whenHungUp()
        self.assertNoResult(d)
        self.channel.hangup(HangupCause.NORMAL_CLEARING)
        self.assertIs(self.successResultOf(d), self.channel)
