"""
The SIP session harness of L{pbxcore.testing}, under the short names these
tests use.
"""

from pbxcore.testing import OFFER, SIPSessionHarness as SessionHarness
from pbxcore.testing import _sipSource, sipInDialog as inDialog, sipInvite as invite

SOURCE = _sipSource()

__all__ = ["OFFER", "SOURCE", "SessionHarness", "inDialog", "invite"]
