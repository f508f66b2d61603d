"""sip CLI commands, SIP manager actions, reload and realtime peers."""

import os
import sqlite3

from twisted.trial.unittest import TestCase

from pbxcore.console.clicommands import runCommand
from pbxcore.config import ConfigError
from pbxcore.errors import ManagerError
from pbxcore.manager.framing import Message
from pbxcore.manager.responses import ListResponse, Success
from tests.shell.sip_reg.harness import SIP_CONF, Harness, sipConf


class Session:
    def __init__(self, pbx):
        self.pbx = pbx


def cli(h, line):
    results = []
    runCommand(h.pbx, line).addCallback(results.append)
    return results[0]


def action(h, name, **fields):
    found = h.pbx.registry("manageraction").get(name)
    return found.call(Session(h.pbx), Message(tuple(fields.items())))


class CLITests(TestCase):
    def setUp(self):
        self.h = Harness()
        self.addCleanup(self.h.stop)

    def test_show_peers(self):
        self.h.registerWithAuth()
        out = cli(self.h, "sip show peers")
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("Name/username"))
        row = next(line for line in lines if line.startswith("1001 "))
        self.assertIn("192.0.2.10", row)
        self.assertIn("5062", row)
        self.assertIn(" D ", row)
        self.assertIn("Unmonitored", row)
        trunk = next(line for line in lines if line.startswith("trunk "))
        self.assertIn("203.0.113.5", trunk)
        self.assertIn("UNKNOWN", trunk)
        self.assertIn(" A ", next(line for line in lines if line.startswith("1003 ")))
        self.assertEqual(lines[-1], "5 sip peers [Monitored: 0 online, 0 offline Unmonitored: 5 online, 0 offline]")
        self.assertEqual(len(cli(self.h, "sip show peers like ^100[12]").splitlines()), 4)

    def test_show_peer(self):
        self.h.registerWithAuth()
        out = cli(self.h, "sip show peer 1001")
        self.assertIn("  * Name       : 1001", out)
        self.assertIn("  Secret       : <Set>", out)
        self.assertIn("  Context      : internal", out)
        self.assertIn("  Reg. Contact : sip:1001@192.0.2.10:5062 (expires in 120 s)", out)
        self.assertIn("  Useragent    : TestPhone/1.0", out)
        self.assertEqual(cli(self.h, "sip show peer nobody"), "Peer nobody not found.\n")
        self.assertIn("Usage: sip show peer", cli(self.h, "sip show peer"))

    def test_show_users_settings_registry_channels_subscriptions(self):
        self.assertIn("1001 ", cli(self.h, "sip show users"))
        self.assertNotIn("trunk", cli(self.h, "sip show users"))
        settings = cli(self.h, "sip show settings")
        self.assertIn("Realm:                  txpbx.test", settings)
        self.assertIn("Reg. min duration       60 secs", settings)
        self.assertIn("Always auth rejects:    Yes", settings)
        self.assertEqual(cli(self.h, "sip show registry").splitlines()[-1], "0 SIP registrations.")
        self.assertEqual(cli(self.h, "sip show channels").splitlines()[-1], "0 active SIP channels")
        self.assertEqual(cli(self.h, "sip show subscriptions").splitlines()[-1], "0 active SIP subscriptions")

    def test_qualify_peer(self):
        before = len(self.h.transport.requests("OPTIONS"))
        self.assertEqual(cli(self.h, "sip qualify peer trunk"), "")
        self.h.clock.advance(0)
        self.assertEqual(len(self.h.transport.requests("OPTIONS")), before + 1)
        self.assertIn("not qualified", cli(self.h, "sip qualify peer 1001"))


class ManagerTests(TestCase):
    def setUp(self):
        self.h = Harness()
        self.addCleanup(self.h.stop)

    def test_sippeers(self):
        self.h.registerWithAuth()
        result = action(self.h, "SIPpeers")
        self.assertIsInstance(result, ListResponse)
        self.assertEqual(result.completeEvent, "PeerlistComplete")
        entries = {dict(fields)["ObjectName"]: dict(fields) for name, fields in result.events}
        self.assertEqual(entries["1001"]["IPaddress"], "192.0.2.10")
        self.assertEqual(entries["1001"]["IPport"], "5062")
        self.assertEqual(entries["1001"]["Dynamic"], "yes")
        self.assertEqual(entries["1004"]["IPaddress"], "-none-")

    def test_sipshowpeer(self):
        result = action(self.h, "SIPshowpeer", Peer="trunk")
        self.assertIsInstance(result, Success)
        fields = dict(result.fields)
        self.assertEqual((fields["ObjectName"], fields["Dynamic"], fields["Address-IP"]), ("trunk", "N", "203.0.113.5"))
        with self.assertRaises(ManagerError):
            action(self.h, "SIPshowpeer", Peer="ghost")
        with self.assertRaises(ManagerError):
            action(self.h, "SIPshowpeer")

    def test_showregistry_qualify_notify(self):
        h = Harness(text=SIP_CONF + "\n[general](+)\nregister => 9:pw@192.0.2.99/9\n")
        self.addCleanup(h.stop)
        h.clock.advance(0.1)
        result = action(h, "SIPshowregistry")
        [(name, fields)] = result.events
        self.assertEqual((name, dict(fields)["Username"], dict(fields)["State"]), ("RegistryEntry", "9", "Request Sent"))
        self.assertEqual(action(h, "SIPqualifypeer", Peer="trunk").message, "SIP peer found - will qualify")
        result = action(h, "SIPnotify", Channel="SIP/trunk", Variable="Event=check-sync")
        self.assertEqual(result.message, "Notify Sent")
        [(notify, destination)] = h.transport.requests("NOTIFY")
        self.assertEqual(notify.headers.get("Event"), "check-sync")
        self.assertEqual((destination.host, destination.port), ("203.0.113.5", 5060))
        with self.assertRaises(ManagerError):
            action(h, "SIPnotify", Channel="SIP/trunk")


class ReloadTests(TestCase):
    def test_reload_keeps_bindings_and_applies_changes(self):
        h = Harness()
        self.addCleanup(h.stop)
        h.registerWithAuth()
        h.service.reload(sipConf(SIP_CONF.replace("secret = right", "secret = changed").replace("minexpiry = 60", "minexpiry = 90")))
        self.assertEqual(len(h.service.location.contacts("1001")), 1)
        self.assertEqual(h.service.config.settings.minexpiry, 90)
        challenge = h.register()
        self.assertEqual(h.register(auth=h.answer(challenge, password="changed")).status, 200)

    def test_bad_file_keeps_old_configuration(self):
        h = Harness()
        self.addCleanup(h.stop)
        path = os.path.join(h.dataDir, "sip.conf")
        with open(path, "w") as f:
            f.write("[1001]\ntype = friend\nqualify = often\n")
        h.pbx.configDir = h.dataDir
        with self.assertRaises(ConfigError) as caught:
            h.service.reload()
        self.assertEqual(str(caught.exception), f"{path}:3: qualify: expected yes, no or milliseconds, got 'often'")
        self.assertIsNotNone(h.service.peerFor("trunk"))
        self.assertIn("old configuration kept", cli(h, "sip reload"))


class RealtimeTests(TestCase):
    def test_realtime_peer_registers(self):
        h = Harness(text="[general]\nrealm = txpbx.test\nrtcachefriends = yes\n")
        self.addCleanup(h.stop)
        with sqlite3.connect(h.service.store.path) as db:
            db.execute('INSERT INTO sippeers (name, type, host, secret, context, "call-limit") '
                       "VALUES ('2001', 'friend', 'dynamic', 'rtpw', 'rt', '2')")
        ok = h.registerWithAuth(user="2001", password="rtpw")
        self.assertEqual(ok.status, 200)
        peer = h.service.peerFor("2001")
        self.assertTrue(peer.realtime)
        self.assertEqual((peer.context, peer.callLimit), ("rt", 2))
        self.assertIn("2001", cli(h, "sip show peers"))
        self.assertEqual(h.service.location.contacts("2001")[0].uri, "sip:2001@192.0.2.10:5062")

    def test_without_cache_each_lookup_reads_the_table(self):
        h = Harness(text="[general]\nrealm = txpbx.test\n")
        self.addCleanup(h.stop)
        self.assertIsNone(h.service.peerFor("3001"))
        with sqlite3.connect(h.service.store.path) as db:
            db.execute("INSERT INTO sippeers (name, secret, host) VALUES ('3001', 'a', 'dynamic')")
        self.assertEqual(h.service.peerFor("3001").secret, "a")
        with sqlite3.connect(h.service.store.path) as db:
            db.execute("UPDATE sippeers SET secret = 'b' WHERE name = '3001'")
        self.assertEqual(h.service.peerFor("3001").secret, "b")


class FunctionTests(TestCase):
    def test_sippeer(self):
        h = Harness()
        self.addCleanup(h.stop)
        h.registerWithAuth()
        f = h.pbx.registry("function").get("SIPPEER")
        self.assertEqual(f.read(None, "1001"), "192.0.2.10")
        self.assertEqual(f.read(None, "1001,port"), "5062")
        self.assertEqual(f.read(None, "1001,context"), "internal")
        self.assertEqual(f.read(None, "1001,expire"), "120")
        self.assertEqual(f.read(None, "1001,useragent"), "TestPhone/1.0")
        self.assertEqual(f.read(None, "trunk,status"), "UNKNOWN")
        self.assertEqual(f.read(None, "trunk"), "203.0.113.5")
        self.assertEqual(f.read(None, "nobody,ip"), "")
