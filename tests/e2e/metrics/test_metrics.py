"""
/metrics (res_prometheus) of a real C{twistd -n pbx} on the shipped etc/:
a SIPp phone registers, a real AMI client (asterisk-ami) holds a call up,
and both a plain HTTP GET and a real Prometheus (Debian's C{prometheus},
started here on 127.0.0.1 with a generated configuration and a storage
folder of its own) read the node's figures.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.http.support import PATIENCE, get, httpPort, shippedEtc
from tests.e2e.sip_reg.sipp import sipp
from tests.pbxprocess import PBXProcess, cleanup

# The shipped etc/'s manager user and phone 1001.
SECRET = "change-me-please"
PHONE, PHONE_SECRET = "1001", "change-me-1001"

# asterisk-ami still calls Condition.notifyAll().
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def samples(text):
    """{(name, sorted labels): value} of a Prometheus text page."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(port):
    status, headers, body = get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200, (status, body)
    assert headers["Content-Type"].startswith("text/plain; version="), dict(headers)
    return samples(body.decode())


def waitUntil(predicate, what):
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture(scope="module")
def node():
    etc = shippedEtc()
    process = PBXProcess(etc).start()
    try:
        process.waitBooted(PATIENCE)
        process.httpPort = httpPort(process)
        process.sipPort = int(process.waitFor(r"SIP listening on udp 127\.0\.0\.1:(\d+)",
                                              PATIENCE).group(1))
        process.amiPort = int(process.waitFor(r"manager listening on 127\.0\.0\.1:(\d+)",
                                              PATIENCE).group(1))
        yield process
        assert process.stop() == 0, process.output
        assert "Traceback" not in process.output, process.output
    finally:
        process.kill()
        cleanup(etc)


@pytest.fixture(scope="module")
def call(node):
    """A registered phone and a call held up through the manager (asterisk-ami)."""
    from asterisk.ami import AMIClient, SimpleAction

    code, output = sipp("register_auth.xml", node.sipPort, PHONE, PHONE_SECRET)
    assert code == 0, output
    client = AMIClient(address="127.0.0.1", port=node.amiPort, timeout=PATIENCE)
    login = client.login(username="admin", secret=SECRET).response
    assert login.status == "Success", login
    # Local/102 runs Milliwatt() in the sample dialplan; its other half Echo()es:
    # one call of two channels that lasts until it is hung up.
    originate = client.send_action(SimpleAction(
        "Originate", Channel="Local/102@default", Application="Echo", Async="true")).response
    assert originate.status == "Success", originate
    waitUntil(lambda: scrape(node.httpPort).get(("asterisk_channels_count", ())) == 2,
              "the originated call's two channels")
    try:
        yield client
    finally:
        client.logoff()
        client.disconnect()


def test_metrics_page_counts_the_node(node, call):
    from asterisk.ami import SimpleAction

    page = scrape(node.httpPort)
    assert page[("asterisk_calls_count", ())] == 1, page
    assert page[("asterisk_calls_total", ())] >= 1
    assert page[("asterisk_channels_total", ())] >= 2
    assert page[("asterisk_core_properties_info", (("system_name", "txpbx"),
                                                   ("version", "0.1.0")))] == 1
    # SIPp's REGISTER, challenged then accepted.
    assert page[("asterisk_sip_requests_received_total", (("method", "REGISTER"),))] == 2
    assert page[("asterisk_sip_responses_sent_total",
                 (("code", "401"), ("method", "REGISTER")))] == 1
    assert page[("asterisk_sip_responses_sent_total",
                 (("code", "200"), ("method", "REGISTER")))] == 1
    assert page[("asterisk_sip_transactions_total", (("role", "server"),))] >= 2
    assert page[("asterisk_sip_registrations_count", ())] == 1
    assert page[("asterisk_sip_registered_peers_count", ())] == 1
    assert page[("asterisk_manager_sessions", (("authenticated", "yes"),))] == 1
    assert ("asterisk_rtp_packets_total", (("direction", "sent"),)) in page
    assert page[("asterisk_core_reactor_lag_seconds_count", ())] >= 0
    # Hanging the call up counts its channels by cause (16, Normal Clearing).
    channels = call.send_action(SimpleAction("CoreShowChannels")).response
    assert channels.status == "Success", channels
    hungUp = call.send_action(SimpleAction("Hangup", Channel="/^Local\\/102@default-/")).response
    assert hungUp.status == "Success", hungUp
    after = waitUntil(lambda: (lambda p: p if p[("asterisk_channels_count", ())] == 0 else None)(
        scrape(node.httpPort)), "the call to end")
    causes = {labels: v for (name, labels), v in after.items()
              if name == "asterisk_channels_hangup_total"}
    assert sum(causes.values()) >= 2, causes
    assert all(dict(labels)["cause"].isdigit() for labels in causes), causes
    # Put the call back up for the other test (module fixture order).
    again = call.send_action(SimpleAction(
        "Originate", Channel="Local/102@default", Application="Echo", Async="true")).response
    assert again.status == "Success", again
    waitUntil(lambda: scrape(node.httpPort).get(("asterisk_calls_count", ())) == 1,
              "the call to be up again")


def test_a_post_to_metrics_is_refused(node):
    status, _, body = get(f"http://127.0.0.1:{node.httpPort}/metrics", method="POST", data=b"x")
    assert status == 405, (status, body)


def freeTCPPort():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prometheusBinary():
    path = shutil.which("prometheus")
    if path is None and os.environ.get("CI"):
        pytest.fail("prometheus is not installed (Debian package prometheus)")
    if path is None:
        pytest.skip("prometheus is not installed (Debian package prometheus)")
    return path


def test_a_real_prometheus_scrapes_the_node(node, call, tmp_path):
    binary = prometheusBinary()
    port = freeTCPPort()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: txpbx\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{node.httpPort}']\n        labels:\n"
        "          node: node1\n")
    storage = tempfile.mkdtemp(prefix="txpbx-prometheus-")
    server = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={storage}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def activeCalls():
            query = urllib.parse.urlencode({"query": 'asterisk_calls_count{node="node1"}'})
            try:
                status, _, body = get(f"http://127.0.0.1:{port}/api/v1/query?{query}")
            except OSError:
                return None
            if status != 200:
                return None
            result = json.loads(body)["data"]["result"]
            return result or None

        [series] = waitUntil(activeCalls, "Prometheus to have scraped the node")
        assert series["metric"]["job"] == "txpbx"
        assert series["metric"]["instance"] == f"127.0.0.1:{node.httpPort}"
        assert float(series["value"][1]) == scrape(node.httpPort)[("asterisk_calls_count", ())] == 1
    finally:
        server.terminate()
        try:
            server.wait(PATIENCE)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(storage, ignore_errors=True)
