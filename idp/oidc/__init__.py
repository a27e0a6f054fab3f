"""The OpenID Connect protocol: endpoints, authlib grants and the Starlette adapter."""
