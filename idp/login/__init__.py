"""The login pipeline: password step, second-factor step, consent, SSO session."""
