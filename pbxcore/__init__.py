"""
txpbx: a PBX in the shape of Asterisk, written for Twisted.
"""

__version__ = "0.1.0"
