"""The reference Pocket device: the `pocket` command, for partners and tests.

It speaks device API v1 (plugins/pocket_mfa/push/protocol.py) with httpx and keeps its
key and pairing in a state file.
"""
