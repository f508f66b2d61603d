"""
txpbx-example: a third-party txpbx module (res_example) showing every SIP
extension point from outside the txpbx tree.
"""

__version__ = "1.0.0"
