"""
RFC 3891 Replaces in the session layer, on the fake stack: which dialog an
INVITE with Replaces may take over (SessionManager.replacedSession) and the
takeover itself (SIPDriver.replaceSession): the pickup of our ringing
outgoing leg answers the channel, the old leg is cancelled; an established
leg is hung up with BYE and the channel never hears of it.
"""

from twisted.trial import unittest

from channels.sip.driver.technology import SIPDriver
from channels.sip.net.address import Address
from channels.sip.testing import SIPSessionHarness, sipInvite
from channels.sip.wire.grammar import Replaces
from channels.sip.wire.message import makeResponse
from pbxcore.frame import Control

DEST = Address("UDP", "127.0.0.1", 5080)


class Channel:
    def __init__(self, up=False):
        self.isUp = up
        self.controls = []
        self.hungup = []
        self.name = "SIP/1002-00000001"

    def controlReceived(self, control):
        self.controls.append(control)
        if control == Control.ANSWER:
            self.isUp = True

    def hungUp(self, cause):
        self.hungup.append(cause)


def ringing(h):
    """Our outgoing leg to a phone that rings (an early dialog we started)."""
    session = h.manager.newSession("uac", DEST)
    session.startOutgoing("sip:1002@127.0.0.1:5080", "<sip:1002@127.0.0.1:5080>", "<sip:1001@127.0.0.1>")
    invite, _, onResponse = h.stack.transactions.sent[-1]
    response = makeResponse(invite, 180, toTag="phone-tag")
    response.headers.add("Contact", "<sip:1002@127.0.0.1:5080>")
    onResponse(response)
    return session


class ReplacedSessionTests(unittest.TestCase):
    def setUp(self):
        self.h = SIPSessionHarness()

    def test_noSuchDialog(self):
        self.assertEqual(self.h.manager.replacedSession(Replaces("nope", "a", "b")),
                         (None, (481, "Call/Transaction Does Not Exist")))

    def test_ourRingingLegMayBePickedUp(self):
        session = ringing(self.h)
        self.assertEqual(session.state, "early")
        found = self.h.manager.replacedSession(Replaces(session.callId, session.localTag, "phone-tag"))
        self.assertEqual(found, (session, None))

    def test_wrongFromTag(self):
        session = ringing(self.h)
        found = self.h.manager.replacedSession(Replaces(session.callId, session.localTag, "other"))
        self.assertEqual(found[1][0], 481)

    def test_earlyDialogNotOursIs481(self):
        """RFC 3891 §3: an early dialog in which we are the UAS is not replaced."""
        session, st = self.h.incoming(sipInvite())
        session.provisional(180)
        found = self.h.manager.replacedSession(Replaces(session.callId, session.localTag, "from-1"))
        self.assertEqual(found[1][0], 481)

    def test_earlyOnlyOnConfirmedIs486(self):
        session, st = self.h.incoming(sipInvite())
        session.answer()
        self.h.ack(session)
        found = self.h.manager.replacedSession(Replaces(session.callId, session.localTag, "from-1", True))
        self.assertEqual(found, (None, (486, "Busy Here")))
        found = self.h.manager.replacedSession(Replaces(session.callId, session.localTag, "from-1"))
        self.assertEqual(found, (session, None))


class TakeoverTests(unittest.TestCase):
    def setUp(self):
        self.h = SIPSessionHarness()

    def driverFor(self, session, channel):
        driver = SIPDriver(technology=None, peer=None)
        driver.channel = channel
        driver.session = session
        session.owner = driver
        return driver

    def test_pickupAnswersTheRingingChannel(self):
        old = ringing(self.h)
        channel = Channel(up=False)
        driver = self.driverFor(old, channel)
        new, st = self.h.incoming(sipInvite(callId="pickup", fromTag="picker"))
        driver.replaceSession(new)
        self.assertIs(driver.session, new)
        self.assertEqual(st.responses[-1].status, 200)
        self.assertEqual(old.state, "terminated")
        self.assertEqual(len(self.h.stack.transactions.cancelled), 1)
        self.assertEqual(channel.controls, [Control.ANSWER])
        self.assertEqual(channel.hungup, [])

    def test_establishedLegIsHungUpQuietly(self):
        old, _ = self.h.incoming(sipInvite())
        old.answer()
        self.h.ack(old)
        channel = Channel(up=True)
        driver = self.driverFor(old, channel)
        new, st = self.h.incoming(sipInvite(callId="transfer", fromTag="xfer"))
        driver.replaceSession(new)
        self.assertEqual([r.method for r in self.h.sent][-1], "BYE")
        self.assertEqual(old.state, "terminated")
        self.assertEqual(st.responses[-1].status, 200)
        self.assertEqual(channel.controls, [])
        self.assertEqual(channel.hungup, [])
