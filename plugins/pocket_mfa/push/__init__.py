"""Pocket push: pairing phones, push challenges, and the device API they use.

`PushService.build(store, issuer, config)` assembles it; `device_routes(service)` are
the device API's routes, mounted at /factors/pocket/api/v1/.
"""
