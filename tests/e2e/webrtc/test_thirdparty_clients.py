"""
Third-party WebRTC SIP clients, as installed from npm by .ci/run
(tests/e2e/webrtc/clients/package.json: JsSIP and SIP.js), in a real
headless Chromium: each registers as 2001 over the SIP WebSocket of a real
C{twistd pbx} on the shipped etc/ and calls 1002, a baresip softphone,
through the dialplan's Dial(). baresip answers by itself and plays a
700 Hz tone; the browser's fake microphone beeps at about 400 Hz. Both
sides must hear the other (the browser through WebAudio, baresip in the
recording of what it decoded), getStats() must count packets both ways,
and the call hangs up cleanly.

The shipped etc/ runs unchanged (only its ports are rewritten): JsSIP, SIP.js
and baresip answer MD5 digest, the sample's default.
"""

import functools
import glob
import http.server
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import wave
from array import array

import pytest

from pbxcore.media.sounds import tone
from pbxcore.media.wav import writeWav
from tests.e2e.http.support import PATIENCE, httpPort, shippedEtc
from tests.e2e.media.support import dominantFrequency
from tests.e2e.webrtc.test_webphone import browser, wait  # noqa: F401  (the fixture)
from tests.pbxprocess import PBXProcess, cleanup

CLIENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients")
WAIT = 30

BARESIP_CONFIG = """poll_method epoll
net_interface 127.0.0.1
sip_listen 127.0.0.1:0
audio_player aubridge,bob-out
audio_source aufile,{source}
audio_alert aubridge,bob-alert
ausrc_srate 8000
auplay_srate 8000
ausrc_channels 1
auplay_channels 1
rtp_ports 35800-35900
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module_tmp account.so
snd_path {dump}
"""

PEAK_JS = """
const [seconds, done] = arguments;
const ctx = new AudioContext();
const analyser = ctx.createAnalyser();
analyser.fftSize = 2048;
ctx.createMediaStreamSource(window.state.remote).connect(analyser);
const bins = new Float32Array(analyser.frequencyBinCount);
const best = new Float32Array(analyser.frequencyBinCount).fill(-Infinity);
const timer = setInterval(() => {
  analyser.getFloatFrequencyData(bins);
  for (let i = 0; i < bins.length; i++) if (bins[i] > best[i]) best[i] = bins[i];
}, 10);
setTimeout(() => {
  clearInterval(timer);
  let peak = 1;
  for (let i = 2; i < best.length; i++) if (best[i] > best[peak]) peak = i;
  done({hz: peak * ctx.sampleRate / analyser.fftSize, db: best[peak],
        binHz: ctx.sampleRate / analyser.fftSize});
  ctx.close();
}, seconds * 1000);
"""

STATS_JS = """
const done = arguments[0];
window.state.pc.getStats().then(report => {
  const out = {received: 0, sent: 0};
  report.forEach(s => {
    if (s.type === 'inbound-rtp') out.received += s.packetsReceived;
    if (s.type === 'outbound-rtp') out.sent += s.packetsSent;
  });
  done(out);
});
"""


def installedClients():
    missing = [name for name in ("jssip", "sip.js")
               if not os.path.exists(os.path.join(CLIENTS, "node_modules", name, "package.json"))]
    if missing:
        why = (f"{', '.join(missing)} not installed: run npm ci in {CLIENTS} "
               "(.ci/run does)")
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture
def pages():
    """The client pages and node_modules over HTTP (ES modules need an origin)."""
    installedClients()
    handler = functools.partial(_Quiet, directory=CLIENTS)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def pbx():
    etc = shippedEtc()
    process = PBXProcess(etc).start()
    try:
        process.waitBooted(PATIENCE)
        sipPort = int(process.waitFor(r"SIP listening on udp 127\.0\.0\.1:(\d+)", PATIENCE).group(1))
        yield process, httpPort(process), sipPort
    finally:
        process.kill()
        cleanup(etc)


@pytest.fixture
def baresip(pbx):
    """baresip registered as 1002 (the shipped desk phone), answering by itself."""
    path = shutil.which("baresip")
    if path is None:
        pytest.fail("baresip is not installed (Debian package baresip-core)")
    process, _, sipPort = pbx
    folder = tempfile.mkdtemp(prefix="txpbx-baresip-")
    dump = os.path.join(folder, "dump")
    os.makedirs(dump)
    source = os.path.join(folder, "tone.wav")
    with open(source, "wb") as f:
        f.write(writeWav("slin", tone((700,), 8000, 8000)))
    with open(os.path.join(folder, "config"), "w") as f:
        f.write(BARESIP_CONFIG.format(source=source, dump=dump))
    with open(os.path.join(folder, "accounts"), "w") as f:
        f.write(f"<sip:1002@127.0.0.1:{sipPort};transport=udp>;auth_pass=change-me-1002;"
                f"regint=60;answermode=auto;audio_codecs=PCMU\n")
    phone = subprocess.Popen([path, "-f", folder], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        process.waitFor(r"Registered SIP '1002'", PATIENCE)
        yield phone, dump
    finally:
        if phone.poll() is None:
            phone.send_signal(signal.SIGTERM)
            try:
                phone.wait(10)
            except subprocess.TimeoutExpired:
                phone.kill()
                phone.wait()
        shutil.rmtree(folder, ignore_errors=True)


def heard(dump):
    (decoded,) = glob.glob(os.path.join(dump, "*-dec.wav"))
    with wave.open(decoded, "rb") as f:
        samples = array("h", f.readframes(f.getnframes()))
    assert len(samples) > 8000, "baresip heard less than a second"
    return dominantFrequency(samples[4000:], (400, 700, 1000))


@pytest.mark.parametrize("client", ["jssip", "sipjs"])
def test_browser_client_calls_baresip(client, pbx, pages, baresip, browser):  # noqa: F811
    process, port, _ = pbx
    phone, dump = baresip
    driver = browser.driver
    try:
        driver.get(f"{pages}/{client}.html")
        wait(driver, "return typeof window.start === 'function'", "client loaded")
        driver.execute_script("window.start(arguments[0], '2001', 'change-me-2001', '127.0.0.1')",
                              f"ws://127.0.0.1:{port}/ws")
        wait(driver, "if (window.state.error) throw new Error(window.state.error);"
                     "return window.state.registered", "registration")
        driver.execute_script("window.dial('sip:1002@127.0.0.1')")
        wait(driver, "if (window.state.error) throw new Error(window.state.error);"
                     "return window.state.connected && window.state.pc && window.state.remote"
                     " && window.state.pc.connectionState === 'connected'", "call answered")
        peak = driver.execute_async_script(PEAK_JS, 3)
        assert abs(peak["hz"] - 700) <= 2 * peak["binHz"] and peak["db"] > -60, peak
        stats = driver.execute_async_script(STATS_JS)
        assert stats["received"] > 50 and stats["sent"] > 50, stats
        driver.execute_script("window.hangup()")
        wait(driver, "return window.state.ended", "hang up")
        process.waitFor(r"Hangup SIP/1002-\S+ cause 16|Hangup SIP/2001-\S+ cause 16", WAIT)
        phone.send_signal(signal.SIGTERM)
        phone.wait(10)
        frequency, powers = heard(dump)
        assert frequency == 400, powers
        assert powers[400] > 10 * powers[1000], powers
    except Exception:
        print(browser.console())
        print(process.output[-6000:])
        if phone.stdout is not None and phone.poll() is not None:
            print(phone.stdout.read().decode("utf-8", "replace")[-3000:])
        raise
