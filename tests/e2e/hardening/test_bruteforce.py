"""
Brute-force protection of SIP digest authentication, on the shipped etc/
with real UDP sockets from different loopback addresses: a guesser from
127.0.0.2 is blocked after too many wrong passwords and then gets the same
answer for the right password as for a wrong one; a phone at 127.0.0.3
registers meanwhile; the block ends and the guesser's right password works.
"""

from twisted.internet import defer, reactor, task, threads
from twisted.trial import unittest

from channels.sip.admin.cli import ShowBlocked, Unblock
from tests import inprocess
from tests.e2e.hardening.sipclient import Registrar, shape
from tests.e2e.sip_edges.support import copyShippedEtc

PASSWORD = "change-me-1001"  # the shipped sip.conf's secret of 1001

# The shipped defaults (10 failures in 60 s, a first block of 60 s) would
# make the test wait a minute for the block to end: this copy blocks after
# 5 failures for 3 seconds, long enough for the checks made while blocked
# (each one a single UDP round trip on loopback) and short to wait for.
GUARD_LINES = "authfailures = 5\nauthfailurewindow = 60\nauthblocktime = 3\n"


def shortBlocks(etc):
    path = f"{etc}/sip.conf"
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("[general]\n", "[general]\n" + GUARD_LINES, 1))


class BruteForceTests(unittest.TestCase):
    timeout = 120

    @defer.inlineCallbacks
    def test_guesserBlockedOthersServedBlockEnds(self):
        etc = copyShippedEtc(self)
        shortBlocks(etc)
        pbx = yield inprocess.startPBX(self, etc)
        port = inprocess.sipPort(pbx)
        peers = pbx.loader.modules["chan_sip"].module.peers
        events = []
        pbx.events.subscribe(events.append)

        guesser = Registrar("127.0.0.1", port, "127.0.0.2")
        phone = Registrar("127.0.0.1", port, "127.0.0.3")
        self.addCleanup(guesser.close)
        self.addCleanup(phone.close)

        def register(client, password, expires=120):
            return threads.deferToThread(client.register, password, expires)

        wrong = []
        for attempt in range(5):
            wrong.append((yield register(guesser, f"guess-{attempt}")))
        self.assertEqual({answer[0] for answer in wrong}, {401})
        blocked = [e for e in events if e.name == "SourceBlocked"]
        self.assertEqual(len(blocked), 1)
        self.assertIn("IPV4/UDP/127.0.0.2/", dict(blocked[0].fields)["RemoteAddress"])

        # Blocked: the right password and a wrong one get the same answer,
        # which is also what a wrong password got before the block.
        right = yield register(guesser, PASSWORD)
        another = yield register(guesser, "guess-again")
        self.assertEqual(shape(right), shape(another))
        self.assertEqual(shape(right), shape(wrong[0]))
        self.assertEqual(right[0], 401)

        # Another address is not affected.
        honest = yield register(phone, PASSWORD)
        self.assertEqual(honest[0], 200)

        listing = ShowBlocked(peers).run([])
        self.assertIn("127.0.0.2", listing)
        self.assertNotIn("127.0.0.3", listing)
        # 1001 takes one contact (maxcontacts): the phone lets it go again.
        gone = yield register(phone, PASSWORD, expires=0)
        self.assertEqual(gone[0], 200)

        # The block ends by itself (bounded wait; no timing asserted).
        for _ in range(60):
            answer = yield register(guesser, PASSWORD)
            if answer[0] == 200:
                break
            yield task.deferLater(reactor, 0.5, lambda: None)
        self.assertEqual(answer[0], 200, answer)
        self.assertNotIn("127.0.0.2", ShowBlocked(peers).run([]))

    @defer.inlineCallbacks
    def test_unblockLiftsTheBlock(self):
        etc = copyShippedEtc(self)
        with open(f"{etc}/sip.conf") as f:
            text = f.read()
        # A long block (an hour) that only `sip unblock` can lift here.
        with open(f"{etc}/sip.conf", "w") as f:
            f.write(text.replace("[general]\n", "[general]\nauthfailures = 3\nauthblocktime = 3600\n", 1))
        pbx = yield inprocess.startPBX(self, etc)
        port = inprocess.sipPort(pbx)
        peers = pbx.loader.modules["chan_sip"].module.peers
        guesser = Registrar("127.0.0.1", port, "127.0.0.4")
        self.addCleanup(guesser.close)
        for attempt in range(3):
            yield threads.deferToThread(guesser.register, f"guess-{attempt}")
        answer = yield threads.deferToThread(guesser.register, PASSWORD)
        self.assertEqual(answer[0], 401)
        self.assertEqual(Unblock(peers).run(["127.0.0.4"]), "Unblocked 127.0.0.4\n")
        answer = yield threads.deferToThread(guesser.register, PASSWORD)
        self.assertEqual(answer[0], 200)
        self.assertEqual(Unblock(peers).run(["all"]), "Unblocked 0 addresses\n")
