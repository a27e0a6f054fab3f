"""Second-factor plugins shipped with Pocket IdP."""
