"""
The twistd "pbx" plugin: C{twistd -n pbx -c etc/}.
"""

from twisted.application.service import ServiceMaker

txpbx = ServiceMaker(
    "txpbx",
    "pbxcore.tap",
    "A PBX in the shape of Asterisk: SIP, dialplan, manager (AMI).",
    "pbx",
)
