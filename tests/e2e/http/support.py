"""
The shipped etc/ copied unchanged for a real C{twistd -n pbx}, with only the
listening ports rewritten to 0 (read back from the log) so that tests run
side by side.
"""

import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request

from tests.pbxprocess import ROOT

PATIENCE = 60


def shippedEtc(edit=None):
    """
    A copy of ROOT/etc in a fresh folder (with var/ beside it), the SIP,
    manager and HTTP ports set to 0. C{edit(etc)} may change more (the
    caller says why). Returns the etc path; remove its parent afterwards.
    """
    top = tempfile.mkdtemp(prefix="txpbx-http-")
    etc = os.path.join(top, "etc")
    shutil.copytree(os.path.join(ROOT, "etc"), etc)
    rewrite(etc, "sip.conf", r"(?m)^(udpbindaddr|tcpbindaddr)\s*=\s*127\.0\.0\.1:\d+",
            r"\1 = 127.0.0.1:0")
    rewrite(etc, "manager.conf", r"(?m)^port\s*=\s*\d+", "port = 0")
    rewrite(etc, "http.conf", r"(?m)^bindport\s*=\s*\d+", "bindport = 0")
    if edit is not None:
        edit(etc)
    return etc


def rewrite(etc, name, pattern, replacement):
    path = os.path.join(etc, name)
    with open(path) as f:
        text = f.read()
    new, count = re.subn(pattern, replacement, text)
    assert count, f"{name}: {pattern!r} not found"
    with open(path, "w") as f:
        f.write(new)


def httpPort(process):
    """The HTTP port the PBX logged."""
    return int(process.waitFor(r"HTTP server listening on 127\.0\.0\.1:(\d+)",
                               PATIENCE).group(1))


def get(url, method="GET", data=None, headers=None):
    """(status, headers, body) of a real HTTP request; errors are answers too."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=PATIENCE) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
