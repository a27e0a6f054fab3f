"""The admin API: JSON under /admin/api/v1 for integration partners, over the same
services as the `idp` command (idp.admin). A request carries a Bearer access token from
client_credentials for a client granted the `admin` scope (access.py); the OpenAPI
document (openapi.py) is served at /admin/api/v1/openapi.json."""

#: where the API is mounted
PREFIX = "/admin/api/v1"
