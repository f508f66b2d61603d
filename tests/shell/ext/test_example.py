"""
The example third-party module (examples/txpbx_example) in process: its
supplement, T.38 handler, cookie, application, manager action and console
command, and its reload keeping the old settings on a broken file.
"""

import os
import sys

import pytest
from twisted.internet.address import IPv4Address

from pbxcore.config import ConfigError
from pbxcore.testing import FakePBX, TestTechnology

from tests.shell.ext.harness import OFFER, SessionHarness, invite

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "txpbx_example")


@pytest.fixture(scope="module", autouse=True)
def examplePath():
    path = os.path.abspath(EXAMPLE)
    sys.path.insert(0, path)
    yield
    sys.path.remove(path)


class FakeUDPPort:
    def __init__(self, protocol, port):
        self.protocol = protocol
        self.port = port
        self.stopped = False

    def getHost(self):
        return IPv4Address("UDP", "127.0.0.1", self.port)

    def stopListening(self):
        self.stopped = True


class UDPReactor:
    """Just enough reactor for the T.38 relay sockets."""

    def __init__(self):
        self.ports = []

    def listenUDP(self, port, protocol, interface=""):
        p = FakeUDPPort(protocol, 42000 + 2 * len(self.ports))
        self.ports.append(p)
        return p


def setUp(tmp_path, conf="[general]\nnode = node-7\n"):
    from txpbx_example.module import ExampleModule

    (tmp_path / "example.conf").write_text(conf)
    pbx = FakePBX(configDir=str(tmp_path))
    h = SessionHarness(reactor=pbx.reactor)
    h.provideTo(pbx.registrar("chan_sip"))
    module = ExampleModule()
    pbx.loadModule(module, "res_example")
    return pbx, h, module


def test_rejectsConfiguredHeaderWith403(tmp_path):
    pbx, h, module = setUp(tmp_path)
    session, st = h.incoming(invite(extraHeaders=[("X-Block", "yes")]))
    assert [r.status for r in st.responses] == [403]
    assert session.state == "terminated"
    assert module.stats["rejected"] == 1
    assert pbx.registrar("res_example").useCount == 0


def test_nodeHeaderOn200AndCookieLife(tmp_path):
    pbx, h, module = setUp(tmp_path)
    session, st = h.incoming(invite(extraHeaders=[("X-Block", "no")]))
    registrar = pbx.registrar("res_example")
    assert registrar.useCount == 1
    session.answer()
    ok = st.responses[-1]
    assert ok.status == 200 and ok.headers.get("X-Pbx-Node") == "node-7"
    h.ack(session)
    assert session.getCookie("res_example").node == "node-7"
    h.inDialog(session, "BYE", 2)
    assert module.stats["cookiesDestroyed"] == 1
    assert registrar.useCount == 0


def test_nodeHeaderOnOutgoingInvite(tmp_path):
    pbx, h, module = setUp(tmp_path)
    from tests.shell.ext.harness import SOURCE

    session = h.manager.newSession("uac", SOURCE)
    session.startOutgoing("sip:bob@127.0.0.1:5070", "<sip:bob@127.0.0.1:5070>",
                          "<sip:100@127.0.0.1>")
    assert h.sent[-1].headers.get("X-Pbx-Node") == "node-7"


T38 = OFFER + ("m=image 40010 udptl t38\r\n"
               "a=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\na=T38FaxUdpEC:t38UDPRedundancy\r\n")


def test_t38RefusedWhenDisabled(tmp_path):
    from channels.sip.wire.sdp import parseSDP

    pbx, h, module = setUp(tmp_path)
    session, st = h.incoming(invite(body=T38))
    session.answer()
    answer = parseSDP(st.responses[-1].body)
    assert [(m.mediaType, m.port) for m in answer.media] == [("audio", 30000), ("image", 0)]


def test_t38RelayedWhenEnabled(tmp_path):
    from channels.sip.wire.sdp import parseSDP

    pbx, h, module = setUp(tmp_path, "[general]\nt38 = yes\n")
    handler = [x for x in h.sdpHandlers if x.mediaType == "image"][0]
    handler.reactor = UDPReactor()
    session, st = h.incoming(invite(body=T38))
    session.answer()
    image = parseSDP(st.responses[-1].body).media[1]
    assert (image.mediaType, image.port, image.proto) == ("image", 42000, "udptl")
    assert image.attribute("T38MaxBitRate") == "14400"
    relay = session.streams[1].state["udptl"]
    assert relay.remote == ("127.0.0.1", 40010)
    h.inDialog(session, "BYE", 2)
    assert handler.reactor.ports[0].stopped


def test_applicationActionAndCommand(tmp_path):
    from pbxcore.console.clicommands import runCommand

    pbx, h, module = setUp(tmp_path)
    tech = TestTechnology.install(pbx)
    channel = tech.inbound(pbx)
    pbx.registry("application").get("ExampleNode").execute(channel, "")
    assert channel.getVariable("EXAMPLE_NODE") == "node-7"
    response = pbx.registry("manageraction").get("ExampleStatus").call(None, None)
    assert ("Node", "node-7") in response.fields
    out = []
    runCommand(pbx, "example show status").addCallback(out.append)
    assert "node-7" in out[0]


def test_reloadKeepsOldSettingsOnBrokenFile(tmp_path):
    pbx, h, module = setUp(tmp_path)
    (tmp_path / "example.conf").write_text("[general]\nnode = node-8\nt38 = maybe\n")
    with pytest.raises(ConfigError) as e:
        module.reload(pbx)
    assert str(e.value).endswith("example.conf:3: t38 must be yes or no, not 'maybe'")
    assert module.settings.node == "node-7"
    (tmp_path / "example.conf").write_text("[general]\nnode = node-8\n")
    module.reload(pbx)
    assert module.settings.node == "node-8"


def test_unloadUndoesEverything(tmp_path):
    pbx, h, module = setUp(tmp_path)
    assert len(h.supplements) == 1 and len(h.sdpHandlers) == 2
    module.unload(pbx)
    pbx.registrar("res_example").rollback()
    assert len(h.supplements) == 0 and len(h.sdpHandlers) == 1
    assert pbx.registry("application").get("ExampleNode") is None
    assert pbx.registry("manageraction").get("ExampleStatus") is None
