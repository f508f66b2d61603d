"""
A real headless Chromium (Debian's chromium and chromium-driver) driven by
Selenium, with fake media devices, for the WebRTC tests.
"""

import os
import shutil
import tempfile

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
    # The PBX and the browser share loopback: without this flag Chromium
    # gathers no candidate on 127.0.0.1 and never reaches 127.0.0.1 media.
    "--allow-loopback-in-peer-connection",
    # The remote audio element plays without a click (nobody clicks in a test).
    "--autoplay-policy=no-user-gesture-required",
)


def missing():
    """What is missing to run a browser, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    return None


class Browser:
    """One Chromium with a fresh profile; close() removes it."""

    def __init__(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="txpbx-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_script_timeout(60)

    def console(self):
        try:
            return "\n".join(e["message"] for e in self.driver.get_log("browser"))
        except Exception as e:  # the log is a diagnostic only
            return f"(no browser log: {e})"

    def close(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)
