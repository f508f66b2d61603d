"""
L{HTTPURI}: what a module registers (kind C{"http.uri"}) to mount a
C{twisted.web} resource on the HTTP server.
"""

from dataclasses import dataclass

from zope.interface import implementer

from pbxcore.interfaces import IHTTPURI


def normalisePath(path: str) -> str:
    """'/ari/' -> 'ari'; empty segments dropped; raises ValueError for ''."""
    segments = [s for s in str(path).split("/") if s]
    if not segments or any(s in (".", "..") for s in segments):
        raise ValueError(f"not a mount path: {path!r}")
    return "/".join(segments)


@implementer(IHTTPURI)
@dataclass(frozen=True)
class HTTPURI:
    """
    A mount point: C{resource} (an C{IResource}) answers every request under
    C{/<prefix>/<path>/}. C{path} may have several segments ('ari', 'ws',
    'static/phone'); the longest registered path matching a request wins.
    """

    path: str
    resource: object
    description: str = ""

    def __post_init__(self):
        object.__setattr__(self, "path", normalisePath(self.path))

    @property
    def name(self) -> str:
        return self.path

    @property
    def segments(self) -> tuple:
        return tuple(self.path.split("/"))
