"""Discovery (OpenID Connect Discovery 1.0, section 3) and the JWKS, as ready-made bytes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from idp.keys import ALGORITHMS
from idp.login.acr import ACR_VALUES
from idp.oidc.claims import SUPPORTED_CLAIMS
from idp.oidc.models import SCOPES
from idp.oidc.private_key_jwt import PrivateKeyJWT

if TYPE_CHECKING:
    from idp.provider import Provider

CACHEABLE = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}


def metadata(issuer: str) -> dict[str, Any]:
    auth_methods = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "end_session_endpoint": f"{issuer}/logout",
        "revocation_endpoint": f"{issuer}/revoke",
        "introspection_endpoint": f"{issuer}/introspect",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        # what `idp clients add --id-token-alg` registers and the keys sign with
        "id_token_signing_alg_values_supported": list(ALGORITHMS),
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": list(PrivateKeyJWT.ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": auth_methods[:3],
        "introspection_endpoint_auth_methods_supported": auth_methods[:3],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "sid",
            "azp",
            *SUPPORTED_CLAIMS,
        ],
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "acr_values_supported": list(ACR_VALUES),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": ["en", "nl"],
        "claims_locales_supported": ["en", "nl"],
        "display_values_supported": ["page", "popup", "touch", "wap"],
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": False,
    }


def discovery_bytes(issuer: str) -> bytes:
    return json.dumps(metadata(issuer), separators=(",", ":")).encode()


async def discovery(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    return Response(provider.discovery_bytes, media_type="application/json", headers=CACHEABLE)


async def jwks(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    return Response(
        provider.keys.jwks_bytes(), media_type="application/jwk-set+json", headers=CACHEABLE
    )
