"""
Custom presence: PRESENCE_STATE(), the PresenceState manager actions, the
presencestate console commands, PresenceStatus events and the presence
NOTIFYs of SIP subscribers of hints with a presence provider.
"""

import base64
import xml.etree.ElementTree as ET

from twisted.trial.unittest import TestCase

from channels.sip.driver.peers import Peer
from channels.sip.driver.subscriptions import SubscriptionSettings, installSubscriptions
from pbxcore.devicestate.engine import DeviceStateEngine
from pbxcore.errors import CLIUsageError
from plugins.func_presencestate import FuncPresencestateModule
from tests.shell.manager.managerfakes import Client, byName, makeManager
from tests.shell.vm.test_subscriptions import FakePeers, FakeST, FakeStack, subscribe

from .support import makePBX

DIALPLAN = """
[phones]
exten => 1001,hint,Custom:lamp
exten => 1003,hint,Custom:desk,CustomPresence:1003
exten => 1004,hint,Custom:desk2,CustomPresence:1003
exten => 1005,hint,Custom:desk3,CustomPresence:other
"""

PIDF = "{urn:ietf:params:xml:ns:pidf}"


class PresenceTests(TestCase):

    def setUp(self):
        self.pbx, self.tech, _ = makePBX(self.mktemp(), dialplan=DIALPLAN, test=self)
        _, self.managerModule = makeManager(self.pbx.configDir, pbx=self.pbx)
        self.pbx.devicestate = engine = DeviceStateEngine(self.pbx)
        self.addCleanup(engine.stop)
        engine.register(self.pbx.registrar("core"))
        self.pbx.loadModule(FuncPresencestateModule(), "func_presencestate")
        self.events = []
        self.pbx.events.subscribe(self.events.append)
        self.function = self.pbx.registry("function").get("PRESENCE_STATE")
        self.peers = FakePeers(Peer("watcher", context="phones"))
        self.stack = FakeStack(self.peers)
        self.manager = installSubscriptions(
            self.pbx, self.stack, self.pbx.registrar("res_sip_subscriptions"),
            SubscriptionSettings(minexpiry=60, maxexpiry=600, defaultexpiry=300),
            self.pbx.reactor)

    def read(self, args):
        return self.function.read(None, args)

    def named(self, name):
        return [e for e in self.events if e.name == name]

    def send(self, request):
        st = FakeST()
        self.stack.userAgent.requestReceived(request, st)
        return st.responses[-1]

    def notifies(self):
        return [r for r, _, _ in self.stack.transactions.sent if r.method == "NOTIFY"]

    def test_writeReadAndPersist(self):
        self.assertEqual(self.read("CustomPresence:1003,value"), "not_set")
        self.function.write(None, "CustomPresence:1003", "away,lunch,Back at two")
        self.assertEqual(self.read("CustomPresence:1003,value"), "away")
        self.assertEqual(self.read("CustomPresence:1003,subtype"), "lunch")
        self.assertEqual(self.read("CustomPresence:1003,message"), "Back at two")
        self.assertEqual(base64.b64decode(self.read("CustomPresence:1003,message,e")),
                         b"Back at two")
        self.assertEqual(self.pbx.astdb.get("CustomPresence", "1003"), "away,lunch,Back at two")
        encoded = base64.b64encode(b"On leave").decode()
        self.function.write(None, "CustomPresence:1003", f"xa,,{encoded},e")
        self.assertEqual(self.read("CustomPresence:1003,message"), "On leave")
        self.assertEqual(self.read("CustomPresence:1003,bogus"), "")

    def test_refusedWritesChangeNothing(self):
        self.function.write(None, "CustomPresence:1003", "available")
        del self.events[:]
        self.function.write(None, "CustomPresence:1003", "sleeping")
        self.function.write(None, "CustomPresence:1003", "away,a,b,z")
        self.function.write(None, "Custom:1003", "away")
        self.function.write(None, "CustomPresence:", "away")
        self.assertEqual(self.read("CustomPresence:1003,value"), "available")
        self.assertEqual(self.events, [])
        self.assertEqual(self.read("Custom:lamp,value"), "invalid")

    def test_eventsForEveryHintOfTheProvider(self):
        self.function.write(None, "CustomPresence:1003", "dnd,,In a meeting")
        [change] = self.named("PresenceStateChange")
        self.assertEqual([change.get(k) for k in ("Presentity", "Status", "Subtype", "Message")],
                         ["CustomPresence:1003", "dnd", "", "In a meeting"])
        statuses = self.named("PresenceStatus")
        self.assertEqual([(e.get("Exten"), e.get("Context"), e.get("Hint"), e.get("Status"),
                           e.get("Message")) for e in statuses],
                         [("1003", "phones", "Custom:desk,CustomPresence:1003", "dnd",
                           "In a meeting"),
                          ("1004", "phones", "Custom:desk2,CustomPresence:1003", "dnd",
                           "In a meeting")])

    def test_presenceSubscribersAreNotified(self):
        self.assertEqual(self.send(subscribe(event="presence", exten="1003")).status, 200)
        self.assertEqual(self.send(subscribe(event="dialog", exten="1003",
                                             callId="dlg")).status, 200)
        self.assertEqual(self.send(subscribe(event="presence", exten="1005",
                                             callId="p5")).status, 200)
        self.assertEqual(len(self.notifies()), 3)

        def last():
            request = [r for r in self.notifies() if r.callId == "sub1"][-1]
            body = ET.fromstring(request.body)
            return (body.findtext(f"{PIDF}tuple/{PIDF}status/{PIDF}basic"),
                    body.findtext(f"{PIDF}tuple/{PIDF}note"))

        self.assertEqual(last(), ("open", "Ready"))
        self.function.write(None, "CustomPresence:1003", "away,,Out to lunch")
        self.assertEqual(len(self.notifies()), 4)  # the presence subscriber of 1003 only
        self.assertEqual(last(), ("open", "Out to lunch"))
        self.function.write(None, "CustomPresence:1003", "dnd")
        self.assertEqual(last(), ("closed", "Do not disturb"))
        self.function.write(None, "CustomPresence:other", "available")
        self.assertEqual([r.callId for r in self.notifies()[-2:]], ["sub1", "p5"])
        # Unsubscribed: no more NOTIFYs from presence changes.
        self.send(subscribe(event="presence", exten="1003", expires=0, toTag=self.notifies()[0]
                            .fromTag, cseq=2))
        count = len(self.notifies())
        self.function.write(None, "CustomPresence:1003", "available")
        self.assertEqual(len(self.notifies()), count)

    def test_managerActions(self):
        client = Client(self.managerModule)
        client.login()
        client.read()
        self.function.write(None, "CustomPresence:1003", "chat,,Talk to me")
        client.read()
        client.send(("Action", "PresenceState"), ("Provider", "CustomPresence:1003"))
        [response] = client.read()
        self.assertEqual([response.get(k) for k in ("Response", "State")], ["Success", "chat"])
        # Asterisk's reply carries two Message keys: its own, then the presence's.
        self.assertEqual(response.getall("Message"), ["Presence State", "Talk to me"])
        client.send(("Action", "PresenceState"), ("Provider", "Nothing:1"))
        [response] = client.read()
        self.assertEqual(response.get("Response"), "Error")
        client.send(("Action", "PresenceStateList"))
        messages = client.read()
        [entry] = byName(messages, "PresenceStateChange")
        self.assertEqual((entry.get("Presentity"), entry.get("Status")),
                         ("CustomPresence:1003", "chat"))
        self.assertEqual(len(byName(messages, "PresenceStateListComplete")), 1)

    def test_consoleCommands(self):
        commands = self.pbx.registry("clicommand")
        change = commands.get("presencestate change")
        self.assertIn("Changing", change.execute(self.pbx, ["CustomPresence:1003",
                                                             "away,lunch,Back", "soon"]))
        self.assertEqual(self.read("CustomPresence:1003,message"), "Back soon")
        self.assertRaises(CLIUsageError, change.execute, self.pbx, ["CustomPresence:1003",
                                                                    "sleeping"])
        self.assertRaises(CLIUsageError, change.execute, self.pbx, ["Custom:x", "away"])
        listing = commands.get("presencestate list").execute(self.pbx, [])
        self.assertIn("Name: 'CustomPresence:1003'", listing)
        self.assertIn("State: 'away'", listing)
        hints = commands.get("core show hints").execute(self.pbx, [])
        [line] = [l for l in hints.splitlines() if "1003@phones" in l]
        self.assertIn("Custom:desk,CustomPresence:1003", line)
        self.assertIn("Presence:away", line)
        [line] = [l for l in hints.splitlines() if "1001@phones" in l]
        self.assertIn("Presence:not_set", line)
