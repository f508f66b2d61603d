"""The registrar on a Clock: digest challenges, bindings, expiry, persistence."""

import shutil

from twisted.trial.unittest import TestCase

from channels.sip.net.address import Address
from channels.sip.wire.digest import Challenge, buildAuthorization, parseChallenge
from tests.shell.sip_reg.harness import PHONE, SIP_CONF, Harness


class RegistrarTests(TestCase):
    def setUp(self):
        self.h = Harness()
        self.addCleanup(self.h.stop)

    def test_challenge_offers_md5_by_default(self):
        # Asterisk's default: MD5 alone (baresip and SIPp give up on SHA-256).
        r = self.h.register()
        self.assertEqual(r.status, 401)
        values = r.headers.rawValues("WWW-Authenticate")
        self.assertEqual([parseChallenge(v).algorithm for v in values], ["MD5"])
        for v in values:
            c = parseChallenge(v)
            self.assertEqual(c.realm, "txpbx.test")
            self.assertEqual(c.qop, ("auth",))
            self.assertFalse(c.stale)
        self.assertIsNone(r.headers.get("Proxy-Authenticate"))
        # Nothing before the challenge: no 100 Trying.
        self.assertEqual([m.status for m in self.h.transport.responses()], [401])

    def test_register_with_credentials_lists_binding(self):
        ok = self.h.registerWithAuth()
        self.assertEqual(ok.status, 200)
        contacts = ok.headers.getall("Contact")
        self.assertEqual(contacts, ["<sip:1001@192.0.2.10:5062>;expires=120"])
        self.assertTrue(ok.headers.get("Date").endswith("GMT"))
        bindings = self.h.service.location.contacts("1001")
        self.assertEqual(len(bindings), 1)
        self.assertEqual(bindings[0].source, PHONE)
        self.assertEqual(bindings[0].userAgent, "TestPhone/1.0")
        self.assertEqual([e.get("PeerStatus") for e in self.h.events("PeerStatus") if e.get("Peer") == "SIP/1001"], ["Registered"])
        self.assertEqual(self.h.events("SuccessfulAuth")[0].get("AccountID"), "1001")

    def test_md5_answer_accepted(self):
        challenge = self.h.register()
        ok = self.h.register(auth=self.h.answer(challenge, algorithm="MD5"))
        self.assertEqual(ok.status, 200)

    def test_wrong_password_and_unknown_user_answer_alike(self):
        challenge = self.h.register()
        wrong = self.h.register(auth=self.h.answer(challenge, password="nope"))
        challenge2 = self.h.register(user="9999")
        unknown = self.h.register(user="9999", auth=self.h.answer(challenge2, user="9999", password="x"))
        for r in (wrong, unknown):
            self.assertEqual((r.status, r.reason), (401, "Unauthorized"))
            self.assertEqual(len(r.headers.rawValues("WWW-Authenticate")), 1)
            self.assertEqual(sorted(name for name, _ in r.headers.lines),
                             sorted(name for name, _ in wrong.headers.lines))
        self.assertEqual(self.h.events("InvalidPassword")[0].get("AccountID"), "1001")
        self.assertEqual(self.h.events("InvalidAccountID")[0].get("AccountID"), "9999")
        self.assertEqual(self.h.service.location.contacts("1001"), [])

    def test_unregister_with_expires_zero(self):
        self.h.registerWithAuth()
        r = self.h.registerWithAuth(expires=0)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.getall("Contact"), [])
        self.assertEqual(self.h.service.location.contacts("1001"), [])
        self.assertEqual([e.get("PeerStatus") for e in self.h.events("PeerStatus") if e.get("Peer") == "SIP/1001"], ["Registered", "Unregistered"])

    def test_star_needs_expires_zero(self):
        self.h.registerWithAuth()
        bad = self.h.registerWithAuth(contact="*")
        self.assertEqual(bad.status, 400)
        self.assertEqual(len(self.h.service.location.contacts("1001")), 1)
        ok = self.h.registerWithAuth(contact="*", expires=0)
        self.assertEqual(ok.status, 200)
        self.assertEqual(self.h.service.location.contacts("1001"), [])

    def test_too_brief(self):
        r = self.h.registerWithAuth(expires=10)
        self.assertEqual((r.status, r.headers.get("Min-Expires")), (423, "60"))

    def test_maxexpiry_caps_and_contact_param_wins(self):
        r = self.h.registerWithAuth(contact="<sip:1001@192.0.2.10:5062>;expires=300", expires=99999)
        self.assertEqual(r.headers.getall("Contact"), ["<sip:1001@192.0.2.10:5062>;expires=300"])
        r = self.h.registerWithAuth(expires=99999)
        self.assertEqual(r.headers.getall("Contact"), ["<sip:1001@192.0.2.10:5062>;expires=3600"])

    def test_query_without_contact(self):
        self.h.registerWithAuth()
        r = self.h.registerWithAuth(contactLine=False)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.getall("Contact"), ["<sip:1001@192.0.2.10:5062>;expires=120"])

    def test_contact_limit_replaces_binding_nearest_expiry(self):
        # chan_sip's behaviour (pjsip's remove_existing = yes), the default:
        # a phone that comes back from a new port is served at once.
        # (This replaces the former 403 over maxcontacts, now an option.)
        self.h.registerWithAuth(user="1002", password="other", contact="<sip:a@192.0.2.10:1>", expires=300)
        self.h.registerWithAuth(user="1002", password="other", contact="<sip:b@192.0.2.10:2>", expires=600)
        r = self.h.registerWithAuth(user="1002", password="other", contact="<sip:c@192.0.2.10:3>", expires=300)
        self.assertEqual(r.status, 200)
        uris = sorted(b.uri for b in self.h.service.location.contacts("1002"))
        self.assertEqual(uris, ["sip:b@192.0.2.10:2", "sip:c@192.0.2.10:3"])
        self.h.registerWithAuth(user="1001", contact="<sip:x@192.0.2.10:2>", callId="boot-1")
        r = self.h.registerWithAuth(user="1001", contact="<sip:y@192.0.2.10:3>", callId="boot-2")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.getall("Contact"), ["<sip:y@192.0.2.10:3>;expires=120"])
        self.assertEqual([b.uri for b in self.h.service.location.contacts("1001")], ["sip:y@192.0.2.10:3"])

    def test_contact_limit_refused_with_remove_existing_no(self):
        h = Harness(text=SIP_CONF.replace("[1001](phones)\n", "[1001](phones)\nremove_existing = no\n"))
        self.addCleanup(h.stop)
        h.registerWithAuth(contact="<sip:x@192.0.2.10:2>", callId="boot-1")
        r = h.registerWithAuth(contact="<sip:y@192.0.2.10:3>", callId="boot-2")
        self.assertEqual((r.status, r.reason), (403, "Too Many Contacts"))
        self.assertEqual([b.uri for b in h.service.location.contacts("1001")], ["sip:x@192.0.2.10:2"])

    def test_more_contacts_in_one_register_than_allowed_is_403(self):
        challenge = self.h.register(user="1001", contact="<sip:x@192.0.2.10:2>, <sip:y@192.0.2.10:3>")
        r = self.h.register(user="1001", contact="<sip:x@192.0.2.10:2>, <sip:y@192.0.2.10:3>",
                            auth=self.h.answer(challenge))
        self.assertEqual(r.status, 403)

    def test_stale_nonce(self):
        challenge = self.h.register()
        self.h.clock.advance(120)
        r = self.h.register(auth=self.h.answer(challenge))
        self.assertEqual(r.status, 401)
        self.assertTrue(all("stale=true" in v for v in r.headers.rawValues("WWW-Authenticate")))
        ok = self.h.register(auth=self.h.answer(r))
        self.assertEqual(ok.status, 200)

    def test_replayed_nonce_count(self):
        challenge = self.h.register()
        auth = self.h.answer(challenge)
        self.assertEqual(self.h.register(auth=auth).status, 200)
        replay = self.h.register(auth=auth)
        self.assertEqual(replay.status, 401)
        self.assertEqual(self.h.events("ChallengeResponseFailed")[-1].get("AccountID"), "1001")
        nextCount = self.h.register(auth=self.h.answer(challenge, nc=2))
        self.assertEqual(nextCount.status, 200)

    def test_foreign_nonce_refused(self):
        other = Harness()
        self.addCleanup(other.stop)
        challenge = other.register()
        r = self.h.register(auth=self.h.answer(challenge))
        self.assertEqual(r.status, 401)

    def test_general_authalgorithms_offered_in_order_written(self):
        # Tests the authalgorithms option itself; real clients run on the shipped MD5 default.
        h = Harness(text=SIP_CONF.replace("realm = txpbx.test", "realm = txpbx.test\nauthalgorithms = sha-256, md5"))
        self.addCleanup(h.stop)
        r = h.register()
        self.assertEqual([parseChallenge(v).algorithm for v in r.headers.rawValues("WWW-Authenticate")], ["SHA-256", "MD5"])
        self.assertEqual(h.register(auth=h.answer(r, algorithm="SHA-256")).status, 200)
        h2 = Harness(text=SIP_CONF.replace("realm = txpbx.test", "realm = txpbx.test\nauthalgorithms = md5,sha-256"))
        self.addCleanup(h2.stop)
        r = h2.register()
        self.assertEqual([parseChallenge(v).algorithm for v in r.headers.rawValues("WWW-Authenticate")], ["MD5", "SHA-256"])

    def test_peer_authalgorithms_overrides_general(self):
        h = Harness(text=SIP_CONF + "\n[1005](phones)\nsecret = strong\nauthalgorithms = sha-256\n")
        self.addCleanup(h.stop)
        r = h.register(user="1005")
        self.assertEqual([parseChallenge(v).algorithm for v in r.headers.rawValues("WWW-Authenticate")], ["SHA-256"])
        # An MD5 answer is not taken from a peer set to SHA-256 alone.
        md5 = buildAuthorization(Challenge("txpbx.test", parseChallenge(r.headers.get("WWW-Authenticate")).nonce, "MD5", ("auth",)),
                                 "REGISTER", "sip:txpbx.test", "1005", "strong", "cn0nce", 1)
        self.assertEqual(h.register(user="1005", auth=md5).status, 401)
        self.assertEqual(h.register(user="1005", auth=h.answer(r, user="1005", password="strong", nc=2)).status, 200)
        # Other peers keep the general default.
        r = h.register(user="1001")
        self.assertEqual([parseChallenge(v).algorithm for v in r.headers.rawValues("WWW-Authenticate")], ["MD5"])

    def test_md5secret_peer_challenged_with_md5_only(self):
        r = self.h.register(user="1004")
        values = r.headers.rawValues("WWW-Authenticate")
        self.assertEqual([parseChallenge(v).algorithm for v in values], ["MD5"])
        ok = self.h.register(user="1004", auth=self.h.answer(r, user="1004", password="hashed"))
        self.assertEqual(ok.status, 200)

    def test_credentials_of_another_peer_refused(self):
        challenge = self.h.register(user="1002")
        r = self.h.register(user="1002", auth=self.h.answer(challenge, user="1001", password="right"))
        self.assertEqual(r.status, 403)
        self.assertEqual(self.h.service.location.contacts("1002"), [])

    def test_acl_refusal_logged(self):
        challenge = self.h.register(user="1003")
        r = self.h.register(user="1003", auth=self.h.answer(challenge, user="1003", password="guarded"))
        self.assertEqual(r.status, 403)
        event = self.h.events("FailedACL")[-1]
        self.assertEqual(event.get("AccountID"), "1003")
        self.assertEqual(event.get("RemoteAddress"), "IPV4/UDP/192.0.2.10/5062")
        inside = Address("UDP", "198.51.100.7", 5060)
        challenge = self.h.register(user="1003", source=inside)
        ok = self.h.register(user="1003", source=inside,
                             auth=self.h.answer(challenge, user="1003", password="guarded"))
        self.assertEqual(ok.status, 200)

    def test_response_goes_to_source_port(self):
        # The phone's Via names a port it does not use (NAT): answer the source.
        self.h.register()
        response = self.h.last
        self.assertEqual(response.topVia.rport, PHONE.port)
        self.assertEqual(response.topVia.received, PHONE.host)

    def test_out_of_order_cseq(self):
        self.h.registerWithAuth(cseq=50)
        r = self.h.registerWithAuth(cseq=10)
        self.assertEqual(r.status, 500)

    def test_no_empty_headers(self):
        for r in (self.h.register(), self.h.registerWithAuth()):
            for name, value in r.headers.lines:
                self.assertTrue(value.strip(), name)

    def test_expiry_timer_removes_binding(self):
        self.h.registerWithAuth(expires=60)
        self.h.clock.advance(59)
        self.assertEqual(len(self.h.service.location.contacts("1001")), 1)
        self.h.clock.advance(2)
        self.assertEqual(self.h.service.location.contacts("1001"), [])
        statuses = [(e.get("PeerStatus"), e.get("Cause")) for e in self.h.events("PeerStatus") if e.get("Peer") == "SIP/1001"]
        self.assertEqual(statuses[-1], ("Unregistered", "Expired"))

    def test_security_line_names_account_and_address(self):
        challenge = self.h.register()
        self.h.register(auth=self.h.answer(challenge, password="bad"))
        line = self.h.service.security.line("InvalidPassword", [("AccountID", "1001"), ("RemoteAddress", "IPV4/UDP/192.0.2.10/5062")])
        self.assertEqual(line, 'SecurityEvent="InvalidPassword",Service="SIP",AccountID="1001",RemoteAddress="IPV4/UDP/192.0.2.10/5062"')
        self.assertEqual(self.h.service.security.counts["InvalidPassword"], 1)


class PersistenceTests(TestCase):
    def test_bindings_survive_a_new_service(self):
        first = Harness()
        first.registerWithAuth(expires=600)
        d = first.stop(keep=True)
        self.addCleanup(shutil.rmtree, first.dataDir, True)

        def reopen(_):
            second = Harness(dataDir=first.dataDir, clock=first.clock)
            self.addCleanup(second.stop)
            # Harness advances its clock again: the binding is read back with its absolute expiry.
            bindings = second.service.location.contacts("1001")
            self.assertEqual([b.uri for b in bindings], ["sip:1001@192.0.2.10:5062"])
            self.assertEqual(bindings[0].source, PHONE)

        return d.addCallback(reopen)

    def test_expired_bindings_dropped_at_start(self):
        first = Harness()
        first.registerWithAuth(expires=60)
        d = first.stop(keep=True)
        self.addCleanup(shutil.rmtree, first.dataDir, True)

        def reopen(_):
            first.clock.advance(100)
            second = Harness(dataDir=first.dataDir, clock=first.clock)
            self.addCleanup(second.stop)
            self.assertEqual(second.service.location.contacts("1001"), [])

        return d.addCallback(reopen)


class NATTests(TestCase):
    def test_options_answered_to_source_port(self):
        from channels.sip.wire.parser import parseMessage

        h = Harness()
        self.addCleanup(h.stop)
        # To the server itself (no user part): 200 (a user part names an extension).
        data = (b"OPTIONS sip:txpbx.test SIP/2.0\r\n"
                b"Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-opt1\r\n"
                b"From: <sip:phone@txpbx.test>;tag=a\r\nTo: <sip:txpbx.test>\r\n"
                b"Call-ID: opt-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        h.stack.transactions.messageReceived(parseMessage(data), Address("UDP", "198.51.100.20", 40123))
        response = h.last
        self.assertEqual(response.status, 200)
        self.assertEqual((response.topVia.received, response.topVia.rport), ("198.51.100.20", 40123))
        self.assertIn("REGISTER", response.headers.get("Allow"))
        self.assertNotIn("gruu", (response.headers.get("Supported") or "").lower())
