"""chan_sip as a module: load from sip.conf, decline, reload, unload."""

import os

from twisted.internet import defer, reactor
from twisted.trial import unittest

from channels.sip.module import ChanSIPModule
from pbxcore.config import ConfigError
from pbxcore.errors import ModuleDeclined
from pbxcore.testing import FakePBX


class ModuleTests(unittest.TestCase):
    def setUp(self):
        self.dir = self.mktemp()
        os.makedirs(self.dir)
        self.pbx = FakePBX(reactor=reactor, configDir=self.dir)

    def write(self, text):
        with open(os.path.join(self.dir, "sip.conf"), "w") as f:
            f.write(text)

    def test_missingConfigDeclines(self):
        e = self.assertRaises(ModuleDeclined, ChanSIPModule().load, self.pbx, self.pbx.registrar("chan_sip"))
        self.assertIn("sip.conf", str(e))

    def test_badConfigNamesFileAndLine(self):
        self.write("[general]\nudpbindaddr = 127.0.0.1:0\ntcpenable = perhaps\n")
        e = self.assertRaises(ConfigError, ChanSIPModule().load, self.pbx, self.pbx.registrar("chan_sip"))
        self.assertTrue(str(e).endswith("sip.conf:3: tcpenable: expected yes or no, got 'perhaps'"), str(e))

    @defer.inlineCallbacks
    def test_loadReloadUnload(self):
        self.write("[general]\nudpbindaddr = 127.0.0.1:0\ntcpenable = yes\ntcpbindaddr = 127.0.0.1:0\nuseragent = PBX-A\nallowguest = no\n")
        module = ChanSIPModule()
        registrar = self.pbx.registrar("chan_sip")
        yield module.load(self.pbx, registrar)
        stack = module.stack
        self.assertEqual(len(stack.listening), 2)
        self.assertEqual(stack.userAgent.userAgent, "PBX-A")

        self.write("[general]\nudpbindaddr = 127.0.0.1:0\ntcpenable = yes\ntcpbindaddr = 127.0.0.1:0\nuseragent = PBX-B\n")
        module.reload(self.pbx)
        self.assertEqual(stack.userAgent.userAgent, "PBX-B")

        self.write("[general]\nuseragent = PBX-C\ntimert1 = soon\n")
        self.assertRaises(ConfigError, module.reload, self.pbx)
        self.assertEqual(stack.userAgent.userAgent, "PBX-B")

        yield module.unload(self.pbx)
        registrar.rollback()
        self.assertIsNone(module.stack)
        self.assertEqual(stack.listening, [])
