"""
The HTTP server of the PBX (Asterisk's http.conf) on C{twisted.web}.

Modules mount resources through their registrar::

    from pbxcore.http import HTTPURI
    registrar.register("http.uri", HTTPURI("ari", myResource, "Asterisk RESTful API"))

The resource then answers C{/<prefix>/ari/...}; unloading the module unmounts
it. L{pbxcore.http.config} parses http.conf (pure);
L{pbxcore.http.server} is the Twisted shell.
"""

from pbxcore.http.uri import HTTPURI

__all__ = ["HTTPURI"]
