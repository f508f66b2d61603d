"""
ari.conf settings the shipped file does not use, on a real PBXService with
real HTTP requests: a read_only user, allowed_origins (CORS, preflight)
and http.conf's prefix in front of /ari. The configuration is written here
(not the shipped etc/) because these settings are what is tested.
"""

import base64
import json

from twisted.internet import defer, reactor
from twisted.trial import unittest
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers

from tests.inprocess import makeEtc, modulesConf, startPBX

HTTP_CONF = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\nbindport = 0\nprefix = asterisk\n"
ARI_CONF = """\
[general]
pretty = yes
allowed_origins = http://phone.example
[viewer]
type = user
read_only = yes
password = look
[admin]
type = user
password = touch
"""


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class AriSettingsTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        _, etc = makeEtc(self, {"http.conf": HTTP_CONF, "ari.conf": ARI_CONF,
                                "modules.conf": modulesConf("res_ari", "app_stasis")})
        self.pbx = yield startPBX(self, etc)
        self.base = "http://127.0.0.1:%d/asterisk/ari" % self.pbx.http.address[1]
        self.agent = Agent(reactor)

    @defer.inlineCallbacks
    def request(self, method, path, auth=None, headers=()):
        h = Headers()
        if auth:
            h.addRawHeader("Authorization", basic(*auth))
        for k, v in headers:
            h.addRawHeader(k, v)
        response = yield self.agent.request(method.encode(), (self.base + path).encode(), h)
        body = yield readBody(response)
        return response, body

    @defer.inlineCallbacks
    def test_read_only_user(self):
        response, body = yield self.request("GET", "/bridges", ("viewer", "look"))
        self.assertEqual((response.code, json.loads(body)), (200, []))
        self.assertIn(b"\n", body)  # pretty = yes
        response, body = yield self.request("POST", "/bridges", ("viewer", "look"))
        self.assertEqual(response.code, 403)
        self.assertEqual(json.loads(body), {"message": "Write access denied"})
        response, _ = yield self.request("POST", "/bridges", ("admin", "touch"))
        self.assertEqual(response.code, 200)

    @defer.inlineCallbacks
    def test_cors(self):
        origin = [("Origin", "http://phone.example")]
        response, _ = yield self.request("GET", "/channels", ("admin", "touch"), origin)
        self.assertEqual(response.headers.getRawHeaders("access-control-allow-origin"),
                         ["http://phone.example"])
        response, _ = yield self.request("GET", "/channels", ("admin", "touch"),
                                         [("Origin", "http://elsewhere.example")])
        self.assertIsNone(response.headers.getRawHeaders("access-control-allow-origin"))
        response, _ = yield self.request("OPTIONS", "/channels", None, origin)
        self.assertEqual(response.code, 204)
        self.assertEqual(response.headers.getRawHeaders("access-control-allow-methods"),
                         ["GET,POST,OPTIONS"])

    @defer.inlineCallbacks
    def test_prefix_and_docs_base(self):
        response, body = yield self.request("GET", "/api-docs/resources.json",
                                            ("admin", "touch"))
        self.assertEqual(json.loads(body)["basePath"], self.base)
        self.assertIn("/asterisk/ari/... => Asterisk RESTful Interface", self.pbx.http.status())
