"""Outbound registration (register =>) on a Clock."""

from twisted.trial.unittest import TestCase

from channels.sip.net.address import Address
from channels.sip.wire.digest import computeHA1, computeResponse, parseCredentials
from channels.sip.wire.message import makeResponse
from channels.sip.driver.registry import RegistryState, refreshDelay, retryDelay
from tests.shell.sip_reg.harness import Harness

CONF = """\
[general]
registertimeout = 5
register => 5000:trunkpw:authid@192.0.2.50:5080/5000~300
"""
REGISTRAR = Address("UDP", "192.0.2.50", 5080)


class OutboundRegistrationTests(TestCase):
    def setUp(self):
        self.h = Harness(text=CONF)
        self.addCleanup(self.h.stop)
        self.h.clock.advance(0.1)
        [self.reg] = list(self.h.service.registry)

    def registers(self):
        seen, out = set(), []
        for request, destination in self.h.transport.requests("REGISTER"):
            if request.topVia.branch not in seen:
                seen.add(request.topVia.branch)
                out.append((request, destination))
        return out

    def reply(self, status, headers=()):
        request, destination = self.registers()[-1]
        response = makeResponse(request, status, toTag="srv")
        for name, value in headers:
            response.headers.add(name, value)
        self.h.stack.transactions.messageReceived(response, destination)
        return request

    def states(self):
        return [e.get("Status") for e in self.h.events("Registry")]

    def test_challenge_then_registered_then_refresh(self):
        [(first, destination)] = self.registers()
        self.assertEqual(destination, REGISTRAR)
        self.assertEqual(first.uri, "sip:192.0.2.50:5080")
        self.assertEqual(first.headers.get("Expires"), "300")
        self.assertIsNone(first.headers.get("Authorization"))
        self.assertIn("<sip:5000@", first.headers.get("Contact"))
        self.reply(401, [("WWW-Authenticate", 'Digest realm="far", nonce="n1", algorithm=MD5, qop="auth"')])
        second = self.registers()[-1][0]
        self.assertEqual(second.callId, first.callId)
        self.assertEqual(second.cseq.number, first.cseq.number + 1)
        creds = parseCredentials(second.headers.get("Authorization"))
        self.assertEqual((creds.username, creds.realm, creds.uri), ("authid", "far", "sip:192.0.2.50:5080"))
        ha1 = computeHA1("MD5", "authid", "far", "trunkpw")
        self.assertEqual(creds.response, computeResponse("MD5", ha1, "REGISTER", creds.uri, "n1", "auth", creds.nc, creds.cnonce))
        self.reply(200, [("Contact", f"{second.headers.get('Contact')};expires=60")])
        self.assertIs(self.reg.state, RegistryState.REGISTERED)
        self.assertEqual(self.reg.granted, 60)
        self.assertEqual(self.states(), ["Request Sent", "Auth. Sent", "Registered"])
        # Refreshed 15 s before the 60 s binding lapses.
        self.h.clock.advance(44.9)
        self.assertEqual(len(self.registers()), 2)
        self.h.clock.advance(0.2)
        self.assertEqual(len(self.registers()), 3)
        refresh = self.registers()[-1][0]
        self.assertEqual(refresh.callId, first.callId)

    def test_wrong_credentials_back_off(self):
        self.reply(401, [("WWW-Authenticate", 'Digest realm="far", nonce="n1"')])
        self.reply(401, [("WWW-Authenticate", 'Digest realm="far", nonce="n2"')])
        self.assertIs(self.reg.state, RegistryState.NOAUTH)
        self.assertEqual(len(self.registers()), 2)
        self.h.clock.advance(5.1)
        self.assertEqual(len(self.registers()), 3)
        self.reply(403)
        self.assertIs(self.reg.state, RegistryState.REJECTED)
        self.h.clock.advance(9.9)
        self.assertEqual(len(self.registers()), 3)
        self.h.clock.advance(0.2)  # second failure: twice the delay
        self.assertEqual(len(self.registers()), 4)

    def test_timeout_then_retry(self):
        self.h.clock.pump([0.5] * 70)  # Timer F (32 s) fires: a local 408
        self.assertIs(self.reg.state, RegistryState.TIMEOUT)
        self.assertIn("Timeout", self.states())

    def test_interval_too_brief(self):
        self.reply(423, [("Min-Expires", "600")])
        self.assertEqual(self.registers()[-1][0].headers.get("Expires"), "600")

    def test_proxy_challenge(self):
        self.reply(407, [("Proxy-Authenticate", 'Digest realm="px", nonce="p1", algorithm=MD5')])
        request = self.registers()[-1][0]
        self.assertIsNone(request.headers.get("Authorization"))
        self.assertEqual(parseCredentials(request.headers.get("Proxy-Authorization")).realm, "px")

    def test_reload_keeps_unchanged_registration(self):
        from tests.shell.sip_reg.harness import sipConf

        self.h.service.reload(sipConf(CONF + "[1001]\ntype=friend\nhost=dynamic\nsecret=x\n"))
        self.assertIs(list(self.h.service.registry)[0], self.reg)
        self.h.service.reload(sipConf("[general]\n"))
        self.assertEqual(list(self.h.service.registry), [])


class TimingRuleTests(TestCase):
    def test_refresh(self):
        self.assertEqual(refreshDelay(3600), 3585)
        self.assertEqual(refreshDelay(30), 15)
        self.assertEqual(refreshDelay(10), 8)
        self.assertEqual(refreshDelay(1), 1)

    def test_retry(self):
        self.assertEqual([retryDelay(n, 20) for n in (1, 2, 3)], [20, 40, 80])
        self.assertEqual(retryDelay(20, 20), 300)
