"""
The shipped web phone in a real browser: headless Chromium with fake media
devices loads /phone/ from a real C{twistd pbx} on the shipped etc/ (ports
rewritten to 0), registers as 2001 over the SIP WebSocket with digest, and
calls 100 (Echo) with WebRTC (ICE-lite, DTLS-SRTP, rtcp-mux): the remote
stream, read through WebAudio, carries the fake microphone's tone back.
It calls 104, whose Read() gets the keypad's digits (RFC 4733 from the
browser), and hangs up.
"""

import os
import re

import pytest

from tests.e2e.http.support import PATIENCE, httpPort, shippedEtc
from tests.e2e.webrtc.browser import Browser, missing
from tests.pbxprocess import PBXProcess, cleanup

WAIT = 30

# The loudest frequency bin of a stream over a few seconds, through an
# AnalyserNode (the browser's own FFT), and its level.
PEAK_JS = """
const [which, seconds, done] = arguments;
const stream = which === "remote" ? window.phone.remoteStream : window.phone.localStream;
const ctx = new AudioContext();
const source = ctx.createMediaStreamSource(stream);
const analyser = ctx.createAnalyser();
analyser.fftSize = 2048;
source.connect(analyser);
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
  const hz = peak * ctx.sampleRate / analyser.fftSize;
  const result = {hz, db: best[peak], binHz: ctx.sampleRate / analyser.fftSize};
  ctx.close();
  done(result);
}, seconds * 1000);
"""


@pytest.fixture
def pbx():
    etc = shippedEtc()
    process = PBXProcess(etc).start()
    try:
        process.waitBooted(PATIENCE)
        yield process, httpPort(process)
    finally:
        process.kill()
        cleanup(etc)


@pytest.fixture
def browser():
    why = missing()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    b = Browser()
    try:
        yield b
    finally:
        b.close()


def wait(driver, script, what):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(
        lambda d: d.execute_script(script), what)


def register(driver, port):
    driver.get(f"http://127.0.0.1:{port}/phone/")
    driver.find_element("id", "user").send_keys("2001")
    driver.find_element("id", "secret").send_keys("change-me-2001")
    driver.find_element("id", "register").click()
    wait(driver, "return window.phone.registered", "registration")


def dial(driver, number):
    field = driver.find_element("id", "number")
    field.clear()
    field.send_keys(number)
    driver.find_element("id", "call").click()
    wait(driver, "return window.phone.callState === 'connected' && !!window.phone.remoteStream",
         f"call to {number} answered")
    # Media flows once ICE and DTLS are through.
    wait(driver, "const pc = window.phone.call.pc; return pc.connectionState === 'connected'",
         "DTLS-SRTP connected")


def test_web_phone_registers_and_hears_its_echo(pbx, browser):
    process, port = pbx
    driver = browser.driver
    try:
        register(driver, port)
        process.waitFor(r"Registered SIP '2001'", WAIT)
        assert "registered (200" in driver.find_element("id", "regstatus").get_attribute("value")
        dial(driver, "100")
        local = driver.execute_async_script(PEAK_JS, "local", 3)
        remote = driver.execute_async_script(PEAK_JS, "remote", 3)
        # The echo carries the fake device's tone: the same loudest frequency, well above silence.
        assert local["db"] > -60, local
        assert abs(remote["hz"] - local["hz"]) <= 2 * remote["binHz"], (local, remote)
        assert remote["db"] > -60, (local, remote)
        stats = driver.execute_async_script("""
            const done = arguments[0];
            window.phone.call.pc.getStats().then(report => {
              const out = {};
              report.forEach(s => {
                if (s.type === 'inbound-rtp') out.received = s.packetsReceived;
                if (s.type === 'outbound-rtp') out.sent = s.packetsSent;
                if (s.type === 'transport') out.srtp = s.srtpCipher, out.dtls = s.dtlsState;
              });
              done(out);
            });""")
        assert stats["received"] > 50 and stats["sent"] > 50, stats
        assert stats["dtls"] == "connected" and stats["srtp"], stats
        driver.find_element("id", "hangup").click()
        wait(driver, "return window.phone.callState === 'ended'", "hang up")
        process.waitFor(r"Hangup .*SIP/2001", WAIT)
    except Exception:
        print(browser.console())
        print(process.output)
        raise


def test_web_phone_keypad_reaches_the_dialplan(pbx, browser):
    process, port = pbx
    driver = browser.driver
    try:
        register(driver, port)
        dial(driver, "104")
        for key in "2468":
            driver.find_element("xpath", f"//div[@id='keypad']/button[text()='{key}']").click()
            # One digit at a time: insertDTMF queues them in order.
        process.waitFor(r"DTMF test: 2001 sent 2468", WAIT)
        driver.find_element("id", "hangup").click()
        wait(driver, "return window.phone.callState === 'ended'", "hang up")
    except Exception:
        print(browser.console())
        print(process.output)
        raise
