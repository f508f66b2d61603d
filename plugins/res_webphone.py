"""
res_webphone: the web phone of txpbx at C{/phone/} of the HTTP server.

Static files shipped with the PBX (C{plugins/webphone/}: HTML, CSS and the
project's own JavaScript; nothing third-party, no build step). The page
registers as a peer over the SIP WebSocket (C{/ws}, chan_sip) and calls
with WebRTC: a peer with C{webrtc=yes} in sip.conf.
"""

from __future__ import annotations

import os

from twisted.web.static import File
from zope.interface import implementer

from pbxcore.http import HTTPURI
from pbxcore.interfaces import IModule

PHONE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "webphone")


class _PhoneFiles(File):
    """The phone's files; no directory listings, and never cached stale."""

    def directoryListing(self):
        return self.forbidden

    def render_GET(self, request):
        request.setHeader(b"cache-control", b"no-cache")
        request.setHeader(b"x-content-type-options", b"nosniff")
        return super().render_GET(request)


def phoneResource():
    resource = _PhoneFiles(PHONE_DIR)
    resource.indexNames = ["index.html"]
    return resource


@implementer(IModule)
class WebPhoneModule:
    """Mounts the web phone at /phone/."""

    def load(self, pbx, registrar):
        registrar.register("http.uri", HTTPURI("phone", phoneResource(), "txpbx web phone"))

    def reload(self, pbx):
        pass

    def unload(self, pbx):
        pass
