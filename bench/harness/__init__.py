"""Benchmark harness: Pocket IdP against panva/oidc-provider, side by side."""
