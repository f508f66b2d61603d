"""
Binding writes are coalesced per reactor turn and written as multi-row
statements; flush and close hand over what is pending.
"""

import os
import shutil
import sqlite3
import tempfile

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from channels.sip.net.address import Address
from channels.sip.driver.registrar import BindingStore, Binding, LocationService

from .harness import SIP_CONF, Harness

NOW = 1_800_000_000.0


def binding(i, expires=3600.0, callId="c"):
    return Binding(f"p{i}", f"sip:p{i}@192.0.2.1:{5000 + i}", NOW + expires, Address("UDP", "192.0.2.1", 5000 + i),
                   "Phone/1", ("<sip:edge>",) if i % 2 else (), callId, 1, 0.5 if i % 3 else None, NOW)


class BatchingTests(TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="txpbx-sipstore-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.path = os.path.join(self.dir, "b.sqlite3")
        self.clock = Clock()
        self.store = BindingStore(self.path, self.clock)
        self.store.open()
        self.addCleanup(self.store.close)

    def rows(self):
        with sqlite3.connect(self.path) as db:
            return db.execute("SELECT peer, uri, expires, transport, host, port, useragent, path, callid, cseq, q, "
                              "registered FROM sip_bindings ORDER BY peer").fetchall()

    def test_changes_wait_for_the_end_of_the_turn(self):
        self.store.save(binding(1))
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.store.save(binding(2))
        self.assertEqual(len(self.clock.getDelayedCalls()), 1, "one hand-over per turn")
        self.clock.advance(0)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        return self.store.flush().addCallback(lambda _: self.assertEqual([r[0] for r in self.rows()], ["p1", "p2"]))

    def test_last_change_of_a_binding_wins(self):
        self.store.save(binding(1, callId="first"))
        self.store.save(binding(1, callId="second"))
        self.store.save(binding(2))
        self.store.delete("p2", binding(2).uri)

        def check(_):
            rows = self.rows()
            self.assertEqual([(r[0], r[8]) for r in rows], [("p1", "second")])

        return self.store.flush().addCallback(check)

    def test_many_bindings_every_column_kept(self):
        made = [binding(i) for i in range(203)]  # 64 + 64 + 64 + 8 + 2 + 1 rows
        for b in made:
            self.store.save(b)

        def check(_):
            rows = self.rows()
            self.assertEqual(len(rows), 203)
            read = {r[0]: r for r in rows}
            for b in made:
                r = read[b.peer]
                self.assertEqual(r, (b.peer, b.uri, b.expires, "UDP", "192.0.2.1", b.source.port, "Phone/1",
                                     "\n".join(b.path), b.callId, 1, b.q, NOW))

        return self.store.flush().addCallback(check)

    def test_close_writes_what_is_pending_and_reopen_reads_it(self):
        location = LocationService(self.store)
        location.replace("p1", [binding(1)])
        location.replace("p2", [binding(2)])
        location.clear("p2")

        def reopen(_):
            again = BindingStore(self.path, self.clock)
            self.addCleanup(again.close)
            self.assertEqual(again.open(), [binding(1)])

        return self.store.close().addCallback(reopen)


class RegistrarWritesTests(TestCase):
    def test_registrations_of_one_turn_are_one_hand_over(self):
        h = Harness()
        self.addCleanup(h.stop)
        writes = []
        writer = h.service.store._writer
        original = writer.execute
        writer.execute = lambda sql, params=(): (writes.append(sql), original(sql, params))[1]
        self.assertEqual(h.registerWithAuth(user="1001", password="right").status, 200)
        self.assertEqual(h.registerWithAuth(user="1002", password="other").status, 200)
        self.assertEqual(writes, [])
        h.clock.advance(0)
        self.assertEqual(len(writes), 1)
        self.assertIn("VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?", writes[0])

    def test_date_header_formatted_once_per_second(self):
        h = Harness()
        self.addCleanup(h.stop)
        first = h.registerWithAuth().headers.get("Date")
        h.clock.advance(0.5)
        self.assertEqual(h.registerWithAuth().headers.get("Date"), first)
        h.clock.advance(1.0)
        later = h.registerWithAuth().headers.get("Date")
        self.assertNotEqual(later, first)
        self.assertTrue(later.endswith("GMT"))

    def test_challenges_carry_fresh_nonces_in_fixed_text(self):
        # Two algorithms on purpose (not the shipped MD5 alone): both challenges must carry fresh nonces.
        h = Harness(text=SIP_CONF.replace("realm = txpbx.test", "realm = txpbx.test\nauthalgorithms = sha-256,md5"))
        self.addCleanup(h.stop)
        one = h.register().headers.rawValues("WWW-Authenticate")
        two = h.register().headers.rawValues("WWW-Authenticate")
        self.assertEqual(len(one), 2)
        for a, b in zip(one, two):
            self.assertNotEqual(a, b)
            self.assertEqual(a.split('nonce="')[0], b.split('nonce="')[0])
            self.assertEqual(a.split('nonce="')[1].split('"', 1)[1], b.split('nonce="')[1].split('"', 1)[1])
        self.assertTrue(one[0].startswith('Digest realm="txpbx.test", nonce="'))
        self.assertTrue(one[0].endswith('algorithm=SHA-256, qop="auth"'))
        self.assertEqual(h.events("ChallengeSent")[-1].get("Challenge"), two[0].split('nonce="')[1].split('"')[0])
