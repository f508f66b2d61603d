"""
The HTTP server (http.conf) in a real C{twistd -n pbx} on the shipped etc/,
and mounting through the registrar on a real PBXService, with real HTTP
requests over loopback.
"""

import os
import shutil
import socket
import subprocess
import sys

from twisted.internet import defer, protocol, reactor
from twisted.trial import unittest
from twisted.web import resource
from twisted.web.client import Agent, readBody
from zope.interface import implementer

from pbxcore.http import HTTPURI
from pbxcore.interfaces import IModule
from pbxcore.loader import DEFAULT, ModuleDescriptor
from tests.e2e.http.support import PATIENCE, get, httpPort, rewrite, shippedEtc
from tests.pbxprocess import ROOT, PBXProcess, cleanup


def console(etc, line):
    return subprocess.run([sys.executable, "-m", "pbxcore.console.cli", "-c", etc, "-rx", line],
                          cwd=ROOT, capture_output=True, text=True, timeout=PATIENCE,
                          env=dict(os.environ, PYTHONPATH=ROOT))


def test_shipped_etc_serves_http_and_reports_status():
    etc = shippedEtc()
    process = PBXProcess(etc).start()
    try:
        process.waitBooted(PATIENCE)
        port = httpPort(process)
        status, headers, body = get(f"http://127.0.0.1:{port}/nothing/here")
        assert status == 404 and headers["Server"] == "txpbx", (status, dict(headers))
        assert b"Not Found" in body
        out = console(etc, "http show status")
        assert out.returncode == 0, out.stderr
        assert f"Server Enabled and Bound to 127.0.0.1:{port}" in out.stdout, out.stdout
        assert "Enabled URI's:" in out.stdout
        assert process.stop() == 0, process.output
        assert "Traceback" not in process.output, process.output
    finally:
        process.kill()
        cleanup(etc)


def test_a_port_that_cannot_be_bound_stops_the_start():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    taken = holder.getsockname()[1]
    etc = shippedEtc(lambda etc: rewrite(etc, "http.conf", r"(?m)^bindport = 0",
                                         f"bindport = {taken}"))
    process = PBXProcess(etc).start()
    try:
        status = process.process.wait(PATIENCE)
    finally:
        process.kill()
        holder.close()
        cleanup(etc)
    assert status == 1, process.output
    lines = [line for line in process.lines if "cannot start" in line]
    assert len(lines) == 1 and f"127.0.0.1:{taken}" in lines[0], process.output
    assert "Traceback" not in process.output, process.output


def test_a_broken_http_conf_is_refused_with_file_and_line():
    etc = shippedEtc(lambda etc: rewrite(etc, "http.conf", r"(?m)^bindport = 0",
                                         "bindport = eighty"))
    try:
        result = subprocess.run(
            [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
             "-n", "--pidfile=", "pbx", "-c", etc], cwd=ROOT, capture_output=True,
            text=True, timeout=PATIENCE, env=dict(os.environ, PYTHONPATH=ROOT))
    finally:
        cleanup(etc)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(os.path.join(etc, "http.conf") + ":6: ")
    assert "Traceback" not in result.stderr + result.stdout


class Hello(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"hello " + b"/".join(request.postpath)


@implementer(IModule)
class MountingModule:
    """A module that mounts one resource at /hello."""

    def load(self, pbx, registrar):
        registrar.register("http.uri", HTTPURI("hello", Hello(), "Greets"))

    def reload(self, pbx):
        pass

    def unload(self, pbx):
        pass


HTTP_CONF = """\
; The shipped keys on port 0, a prefix and a session limit of 1: what the
; test checks.
[general]
enabled = yes
bindaddr = 127.0.0.1
bindport = 0
prefix = asterisk
sessionlimit = 1
"""


class MountTests(unittest.TestCase):
    timeout = PATIENCE

    @defer.inlineCallbacks
    def setUp(self):
        from tests.inprocess import makeEtc, modulesConf, startPBX

        _, etc = makeEtc(self, {"http.conf": HTTP_CONF,
                                "modules.conf": modulesConf("res_hello")})
        descriptor = ModuleDescriptor(
            "res_hello", f"{__name__}.MountingModule", "test mount", DEFAULT)
        from pbxcore.service import PBXService

        self.pbx = PBXService(etc, descriptors={"res_hello": descriptor})
        self.pbx.startService()
        self.addCleanup(self.pbx.stopService)
        yield self.pbx.booted
        self.base = "http://127.0.0.1:%d" % self.pbx.http.address[1]
        self.agent = Agent(reactor)

    @defer.inlineCallbacks
    def fetch(self, path):
        response = yield self.agent.request(b"GET", (self.base + path).encode())
        body = yield readBody(response)
        return response.code, body

    @defer.inlineCallbacks
    def test_mount_prefix_and_unmount(self):
        code, body = yield self.fetch("/asterisk/hello/a/b")
        self.assertEqual((code, body), (200, b"hello a/b"))
        code, _ = yield self.fetch("/hello/a")
        self.assertEqual(code, 404)  # outside the prefix
        self.assertIn("/asterisk/hello/... => Greets", self.pbx.http.status())
        yield self.pbx.loader.unload("res_hello")
        code, _ = yield self.fetch("/asterisk/hello/a")
        self.assertEqual(code, 404)

    @defer.inlineCallbacks
    def test_session_limit_closes_the_extra_connection(self):
        first = yield protocol.ClientCreator(reactor, protocol.Protocol).connectTCP(
            "127.0.0.1", self.pbx.http.address[1])
        self.addCleanup(first.transport.loseConnection)
        closed = defer.Deferred()

        class Second(protocol.Protocol):
            def connectionLost(self, reason):
                closed.callback(None)

        yield protocol.ClientCreator(reactor, Second).connectTCP(
            "127.0.0.1", self.pbx.http.address[1])
        yield closed
        self.assertEqual(self.pbx.http.site.refused, 1)
        first.transport.loseConnection()


class ReloadTests(unittest.TestCase):
    """HTTPServer.reload on the real reactor: settings swapped, ports rebound or closed."""

    timeout = PATIENCE

    @defer.inlineCallbacks
    def test_reload(self):
        from pbxcore.http.config import HTTPSettings
        from pbxcore.http.server import HTTPServer
        from pbxcore.registry import Registry
        from pbxcore.interfaces import IHTTPURI

        registry = Registry("http.uri", IHTTPURI)
        registry.add(HTTPURI("hello", Hello(), "Greets"))
        server = HTTPServer(HTTPSettings(enabled=True, bindAddr="127.0.0.1", bindPort=0),
                            registry, reactor=reactor)
        server.start()
        self.addCleanup(server.stop)
        agent = Agent(reactor)

        @defer.inlineCallbacks
        def fetch(path):
            response = yield agent.request(
                b"GET", b"http://127.0.0.1:%d%s" % (server.address[1], path.encode()))
            body = yield readBody(response)
            return response.code, body

        self.assertEqual((yield fetch("/hello/x")), (200, b"hello x"))
        yield server.reload(HTTPSettings(enabled=True, bindAddr="127.0.0.1", bindPort=0,
                                         prefix="pbx", sessionLimit=7))
        self.assertEqual(server.site.sessionLimit, 7)
        self.assertEqual((yield fetch("/pbx/hello/x")), (200, b"hello x"))
        self.assertEqual((yield fetch("/hello/x"))[0], 404)
        yield server.reload(HTTPSettings(enabled=False))
        self.assertIsNone(server.address)
        self.assertIn("Server Disabled", server.status())


def test_https_with_the_shipped_keys_filled_in():
    import re
    import ssl
    import urllib.request

    from tests.e2e.sip.certs import writeTLSFiles

    def enableTLS(etc):
        # The sample ships HTTPS off (it needs a certificate): this test turns
        # it on with a throw-away one, which is what it checks.
        paths, _ = writeTLSFiles(os.path.join(etc, "keys"), ["127.0.0.1"])
        enableTLS.ca = paths["ca"]
        rewrite(etc, "http.conf", r"(?m)^tlsenable = no", "tlsenable = yes")
        rewrite(etc, "http.conf", r"(?m)^;tlsbindaddr = .*$", "tlsbindaddr = 127.0.0.1:0")
        rewrite(etc, "http.conf", r"(?m)^;tlscertfile = .*$", "tlscertfile = keys/cert.pem")
        rewrite(etc, "http.conf", r"(?m)^;tlsprivatekey = .*$", "tlsprivatekey = keys/key.pem")

    etc = shippedEtc(enableTLS)
    process = PBXProcess(etc).start()
    try:
        process.waitBooted(PATIENCE)
        port = int(process.waitFor(r"HTTPS server listening on 127\.0\.0\.1:(\d+)",
                                   PATIENCE).group(1))
        context = ssl.create_default_context(cafile=enableTLS.ca)
        request = urllib.request.Request(
            f"https://127.0.0.1:{port}/ari/asterisk/ping?api_key=asterisk:change-me-ari")
        with urllib.request.urlopen(request, context=context, timeout=PATIENCE) as response:
            assert response.status == 200 and b'"ping": "pong"' in response.read()
        out = console(etc, "http show status")
        assert re.search(rf"HTTPS Server Enabled and Bound to 127\.0\.0\.1:{port}", out.stdout)
        assert process.stop() == 0, process.output
        assert "Traceback" not in process.output, process.output
    finally:
        process.kill()
        cleanup(etc)
