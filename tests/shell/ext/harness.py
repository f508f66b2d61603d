"""
The SIP session harness of L{channels.sip.testing}, under the short names these
tests use.
"""

from channels.sip.testing import OFFER, SIPSessionHarness as SessionHarness
from channels.sip.testing import sipSource, sipInDialog as inDialog, sipInvite as invite

SOURCE = sipSource()

__all__ = ["OFFER", "SOURCE", "SessionHarness", "inDialog", "invite"]
