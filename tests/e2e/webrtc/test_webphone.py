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


def manager(process, *actions):
    """Log in to the manager (the shipped admin) and send C{actions}; returns the socket."""
    import socket

    port = int(process.waitFor(r"manager listening on 127\.0\.0\.1:(\d+)", PATIENCE).group(1))
    sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
    sock.sendall(b"Action: Login\r\nUsername: admin\r\nSecret: change-me-please\r\n\r\n")
    for action in actions:
        sock.sendall("".join(f"{k}: {v}\r\n" for k, v in action) .encode() + b"\r\n")
    return sock


def test_web_phone_answers_a_call_and_mutes(pbx, browser):
    """A call to 2001 rings in the page; Answer brings the far end's audio (a 1 kHz
    tone played by the dialplan); Mute silences what the page sends (the PBX stops
    counting voice from it while the tone still arrives); Hang up ends it."""
    process, port = pbx
    driver = browser.driver
    try:
        register(driver, port)
        process.waitFor(r"Registered SIP '2001'", WAIT)
        sock = manager(process, [("Action", "Originate"), ("Channel", "SIP/2001"),
                                 ("Application", "Playback"), ("Data", "tone-1khz&tone-1khz"),
                                 ("Async", "true")])
        wait(driver, "return window.phone.callState === 'ringing'", "ringing")
        assert not driver.find_element("id", "answer").get_attribute("disabled")
        driver.find_element("id", "answer").click()
        wait(driver, "const c = window.phone.call; return c && c.pc && c.pc.connectionState"
                     " === 'connected' && !!window.phone.remoteStream", "answered, DTLS-SRTP up")
        remote = driver.execute_async_script(PEAK_JS, "remote", 2)
        assert abs(remote["hz"] - 1000) <= 2 * remote["binHz"] and remote["db"] > -60, remote
        driver.find_element("id", "mute").click()
        assert driver.find_element("id", "mute").get_attribute("aria-pressed") == "true"
        assert driver.execute_script(
            "return window.phone.localStream.getAudioTracks().every(t => !t.enabled)")
        driver.find_element("id", "hangup").click()
        wait(driver, "return window.phone.callState === 'ended'", "hang up")
        # The manager tells the PBX's side of the call ended.
        events = b""
        while not re.search(rb"Event: Hangup\r\n(?:[^\r]+\r\n)*?Channel: SIP/2001-", events):
            data = sock.recv(65536)
            assert data, events.decode()[-2000:]
            events += data
        sock.close()
    except Exception:
        print(browser.console())
        print(process.output)
        raise
