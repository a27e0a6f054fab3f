"""The admin API v1 described as OpenAPI 3.1, as data; routes.OPERATIONS is what it
describes, and tests/admin_api/test_openapi.py holds the two together."""

from __future__ import annotations

from typing import Any

from idp.admin.audit import MAX_PAGE as MAX_EVENTS
from idp.admin.client_fields import (
    AUTH_METHODS,
    GRANTS,
    MAX_URIS,
    MFA,
    TOKEN_FORMATS,
)
from idp.admin.user_fields import (
    ADDRESS_MEMBERS,
    CLAIMS,
    FLAG_CLAIMS,
    MAX_PASSWORD,
    MAX_TEXT,
    MAX_USERNAME,
    TEXT_CLAIMS,
)
from idp.admin.users import MAX_PAGE
from idp.admin_api import PREFIX
from idp.keys import ALGORITHMS
from idp.oidc.models import CLIENT_SCOPES
from idp.passwords import MIN_LENGTH

JSON = dict[str, Any]

#: what a text field may not hold: control characters
NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"
#: an id in a path: unreserved URL characters and ":", never "." or ".." alone
PATH_ID = r"^[A-Za-z0-9_~:-][A-Za-z0-9._~:-]{0,199}$"


def _ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: list[str], **properties: JSON) -> JSON:
    return {
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


def _json(schema: JSON, description: str) -> JSON:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _nullable(schema: JSON) -> JSON:
    return {"oneOf": [schema, {"type": "null"}]}


TEXT: JSON = {"type": "string", "maxLength": MAX_TEXT, "pattern": NO_CONTROL}
TIME: JSON = {"type": "integer", "description": "Unix time (seconds)"}
URIS: JSON = {
    "type": "array",
    "maxItems": MAX_URIS,
    "items": {"type": "string", "format": "uri", "maxLength": 2000},
}


def _claims(nullable: bool = False, shown: bool = False) -> JSON:
    """The claims a request gives (null clears one where `nullable`), or as `shown`:
    every claim, as it is kept."""
    text = {"type": "string"} if shown else TEXT
    text = _nullable(text) if nullable else text
    address = _object([], **{m: text for m in ADDRESS_MEMBERS})
    if shown:
        return _object(
            list(CLAIMS),
            **{name: text for name in TEXT_CLAIMS},
            **{name: {"type": "boolean"} for name in FLAG_CLAIMS},
            address={"type": "object", "additionalProperties": {"type": "string"}},
        )
    return _object(
        [],
        **{name: text for name in TEXT_CLAIMS},
        **{name: {"type": "boolean"} for name in FLAG_CLAIMS},
        address=_nullable(address) if nullable else address,
    )


_ERROR = "Refused; `field` names the field at fault (null when none is)."
ERRORS: dict[str, str] = {
    "400": "invalid_request: a wrong field, query parameter or body. " + _ERROR,
    "401": "invalid_token: no access token, or one that is unknown, expired or revoked "
    "(see WWW-Authenticate).",
    "403": "insufficient_scope: the token has no `admin` scope.",
    "404": "not_found: no such user, client, method or session.",
    "409": "conflict: the username or client_id is taken.",
    "503": "temporarily_unavailable: the store cannot be reached; try again.",
}


def _errors(*codes: str) -> JSON:
    return {code: _json(_ref("Error"), ERRORS[code]) for code in (*codes, "401", "403", "503")}


def _id(name: str, description: str) -> JSON:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "pattern": PATH_ID},
    }


USER_ID = _id("id", "the user's id (their `sub`)")
CLIENT_ID = _id("client_id", "the client's id")


#: what every audit event holds (idp.audit)
AUDIT_FIELDS = (
    "id",
    "time",
    "at",
    "event",
    "outcome",
    "reason",
    "sub",
    "client",
    "ip",
    "user_agent",
    "request_id",
    "actor",
)
#: since and until: Unix seconds or an RFC 3339 date-time with its offset
AUDIT_TIME: JSON = {
    "type": "string",
    "maxLength": 40,
    "description": "Unix seconds, or an RFC 3339 date-time with its offset",
}


def _operation(
    summary: str,
    responses: JSON,
    *,
    body: JSON | None = None,
    parameters: list[JSON] | None = None,
) -> JSON:
    op: JSON = {"summary": summary, "responses": responses, "security": [{"admin": ["admin"]}]}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if parameters:
        op["parameters"] = parameters
    return op


NO_CONTENT = {"204": {"description": "Done."}}

CLIENT_SETTINGS: JSON = {
    "name": {**TEXT, "minLength": 1},
    "redirect_uris": URIS,
    "post_logout_redirect_uris": URIS,
    "grant_types": {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": {"enum": list(GRANTS)},
    },
    "scopes": {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": {"enum": list(CLIENT_SCOPES)},
        "description": "`admin` (this API) only for a confidential client whose one grant "
        "is client_credentials.",
    },
    "jwks": _nullable(
        {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array"}}}
    ),
    "first_party": {"type": "boolean", "description": "skip the consent page"},
    "access_token_format": {"enum": list(TOKEN_FORMATS)},
    "mfa": {"enum": list(MFA)},
    "remember_browser": {
        "type": "boolean",
        "description": "may a browser be remembered so that this client's users skip the "
        "second factor there ([factors] remember_days); false for administrators' "
        "applications, say",
    },
    "postpone_enrollment": {
        "type": "boolean",
        "description": "may users without a second factor postpone setting it up "
        "([factors] enroll_by, enroll_within_logins)",
    },
    "id_token_signed_response_alg": {"enum": list(ALGORITHMS)},
}

#: a client as shown: every setting, as it is kept
STRINGS: JSON = {"type": "array", "items": {"type": "string"}}
CLIENT_SHOWN: JSON = {
    "client_id": {"type": "string"},
    "name": {"type": "string"},
    "redirect_uris": STRINGS,
    "post_logout_redirect_uris": STRINGS,
    "public": {"type": "boolean"},
    "grant_types": STRINGS,
    "scopes": STRINGS,
    "token_endpoint_auth_method": {"type": "string"},
    "jwks": _nullable({"type": "object"}),
    "first_party": {"type": "boolean"},
    "access_token_format": {"type": "string"},
    "mfa": {"type": "string"},
    "remember_browser": {"type": "boolean"},
    "postpone_enrollment": {"type": "boolean"},
    "id_token_signed_response_alg": {"type": "string"},
    "created_at": TIME,
}
CLIENT_FIELDS = list(CLIENT_SHOWN)

SCHEMAS: JSON = {
    "Error": _object(
        ["error", "error_description", "field"],
        error={"type": "string"},
        error_description={"type": "string"},
        field=_nullable({"type": "string"}),
    ),
    "Claims": _claims(),
    "ShownClaims": _claims(shown=True),
    "User": _object(
        ["id", "username", "claims", "disabled", "has_password", "created_at", "updated_at"],
        id={"type": "string"},
        username={"type": "string"},
        claims=_ref("ShownClaims"),
        disabled={"type": "boolean"},
        has_password={"type": "boolean"},
        created_at=TIME,
        updated_at=TIME,
    ),
    "NewUser": _object(
        ["username"],
        username={
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_USERNAME,
            "pattern": r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$",
        },
        claims=_ref("Claims"),
        password={
            "type": "string",
            "minLength": MIN_LENGTH,
            "maxLength": MAX_PASSWORD,
            "description": "without one, the user cannot log in until one is set",
        },
    ),
    "UserChange": _object(
        [],
        claims={**_claims(nullable=True), "description": "null clears a claim"},
        disabled={
            "type": "boolean",
            "description": "a disabled user cannot log in; disabling ends their sessions",
        },
    ),
    "UserPage": _object(
        ["items", "next_cursor"],
        items={"type": "array", "items": _ref("User")},
        next_cursor=_nullable({"type": "string"}),
    ),
    "Method": _object(
        ["id", "plugin", "kind", "label", "device", "created_at", "last_used"],
        id={
            "type": "string",
            "description": "<plugin>:<the plugin's id>; browser:<id> for a remembered browser",
        },
        plugin={
            "type": "string",
            "description": 'the plugin; "browser" for a browser remembered after a second '
            "factor (kind `remembered browser`, `last_used` set)",
        },
        kind={"type": "string"},
        label={"type": "string"},
        device={"type": "boolean", "description": "a paired device such as a phone"},
        created_at=TIME,
        last_used=_nullable(TIME),
    ),
    "Session": _object(
        ["sid", "auth_time", "amr", "acr"],
        sid={"type": "string"},
        auth_time=TIME,
        amr={"type": "array", "items": {"type": "string"}},
        acr={"type": "string"},
    ),
    "Client": _object(CLIENT_FIELDS, **CLIENT_SHOWN),
    "NewClientAnswer": _object(
        [*CLIENT_FIELDS, "client_secret"],
        **CLIENT_SHOWN,
        client_secret={
            **_nullable({"type": "string"}),
            "description": "shown only now; null for a client without a secret",
        },
    ),
    "NewClient": _object(
        ["name"],
        client_id={"type": "string", "pattern": r"^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,127}$"},
        public={"type": "boolean", "description": "no secret; PKCE required"},
        token_endpoint_auth_method={"enum": list(AUTH_METHODS)},
        **CLIENT_SETTINGS,
    ),
    "ClientChange": _object([], **CLIENT_SETTINGS),
    "Secret": _object(
        ["client_id", "client_secret"],
        client_id={"type": "string"},
        client_secret={"type": "string", "description": "shown only now"},
    ),
    "Key": _object(
        ["kid", "alg", "state", "created_at", "rotated_at", "retire_at"],
        kid={"type": "string"},
        alg={"type": "string"},
        state={"enum": ["active", "published", "retired"]},
        created_at=TIME,
        rotated_at=_nullable(TIME),
        retire_at=_nullable(TIME),
    ),
    "AuditEvent": {
        **_object(
            [*AUDIT_FIELDS],
            id={"type": "string", "description": "sorts by time"},
            time={"type": "string", "format": "date-time"},
            at={"type": "number", "description": "Unix time (seconds)"},
            event={"type": "string", "description": "login_succeeded, login_failed, ..."},
            outcome={"type": "string", "description": "success or failure"},
            reason=_nullable({"type": "string"}),
            sub=_nullable({"type": "string", "description": "the user"}),
            client=_nullable({"type": "string", "description": "the client concerned"}),
            ip=_nullable({"type": "string"}),
            user_agent=_nullable({"type": "string"}),
            request_id=_nullable({"type": "string"}),
            actor=_nullable({"type": "string", "description": "the acting admin client, or cli"}),
        ),
        # the event's own details (device_id, method, count, ...)
        "additionalProperties": True,
    },
    "AuditEventPage": _object(
        ["items", "next_cursor"],
        items={"type": "array", "items": _ref("AuditEvent")},
        next_cursor=_nullable({"type": "string"}),
    ),
}


def _items(name: str) -> JSON:
    return _object(["items"], items={"type": "array", "items": _ref(name)})


def paths() -> JSON:
    return {
        "/users": {
            "post": _operation(
                "Add a user",
                {"201": _json(_ref("User"), "The new user."), **_errors("400", "409")},
                body=_ref("NewUser"),
            ),
            "get": _operation(
                "List users by username, a page at a time",
                {"200": _json(_ref("UserPage"), "A page of users."), **_errors("400")},
                parameters=[
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "description": "`next_cursor` of the page before",
                        "schema": {"type": "string", "maxLength": 512},
                    },
                    {
                        "name": "search",
                        "in": "query",
                        "description": "in the username, name or email; ASCII letters in "
                        "either case",
                        "schema": TEXT,
                    },
                ],
            ),
        },
        "/users/{id}": {
            "parameters": [USER_ID],
            "get": _operation(
                "Show a user", {"200": _json(_ref("User"), "The user."), **_errors("404")}
            ),
            "patch": _operation(
                "Change a user's claims, disable or enable them",
                {"200": _json(_ref("User"), "The user as changed."), **_errors("400", "404")},
                body=_ref("UserChange"),
            ),
            "delete": _operation(
                "Remove a user, with their sessions and second factors",
                {**NO_CONTENT, **_errors("404")},
            ),
        },
        "/users/{id}/password": {
            "parameters": [USER_ID],
            "post": _operation(
                "Set a user's password",
                {**NO_CONTENT, **_errors("400", "404")},
                body=_object(
                    ["password"],
                    password={
                        "type": "string",
                        "minLength": MIN_LENGTH,
                        "maxLength": MAX_PASSWORD,
                    },
                ),
            ),
        },
        "/users/{id}/second-factor/reset": {
            "parameters": [USER_ID],
            "post": _operation(
                "Remove every second factor and remembered browser: the user enrolls again "
                "at the next login",
                {
                    "200": _json(
                        _object(["removed"], removed={"type": "integer"}),
                        "How many items were removed.",
                    ),
                    **_errors("400", "404"),
                },
            ),
        },
        "/users/{id}/methods": {
            "parameters": [USER_ID],
            "get": _operation(
                "The second-factor methods the user enrolled, and the browsers remembered "
                "after one",
                {"200": _json(_items("Method"), "Their methods."), **_errors("404")},
            ),
        },
        "/users/{id}/methods/{method_id}": {
            "parameters": [USER_ID, _id("method_id", "a method's `id`")],
            "delete": _operation(
                "Remove one method (a phone, the authenticator app, the recovery codes, a "
                "remembered browser)",
                {**NO_CONTENT, **_errors("404")},
            ),
        },
        "/users/{id}/sessions": {
            "parameters": [USER_ID],
            "get": _operation(
                "The user's single sign-on sessions",
                {"200": _json(_items("Session"), "Their sessions."), **_errors("404")},
            ),
            "delete": _operation(
                "End every session of the user and forget their remembered browsers",
                {
                    "200": _json(_object(["ended"], ended={"type": "integer"}), "How many ended."),
                    **_errors("404"),
                },
            ),
        },
        "/users/{id}/sessions/{sid}": {
            "parameters": [USER_ID, _id("sid", "a session's `sid`")],
            "delete": _operation("End one session", {**NO_CONTENT, **_errors("404")}),
        },
        "/clients": {
            "post": _operation(
                "Register a client; a confidential one's secret is shown once",
                {"201": _json(_ref("NewClientAnswer"), "The new client."), **_errors("400", "409")},
                body=_ref("NewClient"),
            ),
            "get": _operation(
                "List the clients",
                {"200": _json(_items("Client"), "Every client.")} | _errors(),
            ),
        },
        "/clients/{client_id}": {
            "parameters": [CLIENT_ID],
            "get": _operation(
                "Show a client", {"200": _json(_ref("Client"), "The client."), **_errors("404")}
            ),
            "patch": _operation(
                "Change a client's redirect URIs and settings",
                {"200": _json(_ref("Client"), "The client as changed."), **_errors("400", "404")},
                body=_ref("ClientChange"),
            ),
            "delete": _operation("Remove a client", {**NO_CONTENT, **_errors("404")}),
        },
        "/clients/{client_id}/secret": {
            "parameters": [CLIENT_ID],
            "post": _operation(
                "Rotate the client's secret: the new one is shown once, the old one stops",
                {"200": _json(_ref("Secret"), "The new secret."), **_errors("400", "404")},
            ),
        },
        "/keys": {
            "get": _operation(
                "The signing keys (public details only)",
                {"200": _json(_items("Key"), "Every key.")} | _errors(),
            ),
        },
        "/keys/rotate": {
            "post": _operation(
                "New active signing keys; the old ones stay published until their tokens expire",
                {"200": _json(_items("Key"), "The new keys."), **_errors("400")},
                body=_object(
                    [],
                    algorithms={
                        "type": "array",
                        "minItems": 1,
                        "uniqueItems": True,
                        "items": {"enum": list(ALGORITHMS)},
                    },
                ),
            ),
        },
        "/audit-events": {
            "get": _operation(
                "Security audit events, oldest first, a page at a time",
                {"200": _json(_ref("AuditEventPage"), "A page of events."), **_errors("400")},
                parameters=[
                    {
                        "name": "user",
                        "in": "query",
                        "description": "only this user's events (their `sub`)",
                        "schema": {"type": "string", "maxLength": 200},
                    },
                    {
                        "name": "event",
                        "in": "query",
                        "description": "only events of this name",
                        "schema": {"type": "string", "pattern": "^[a-z0-9_.]{1,64}$"},
                    },
                    {"name": "since", "in": "query", "schema": AUDIT_TIME},
                    {"name": "until", "in": "query", "schema": AUDIT_TIME},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_EVENTS},
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "description": "`next_cursor` of the page before",
                        "schema": {"type": "string", "maxLength": 64},
                    },
                ],
            ),
        },
    }


def document(issuer: str) -> JSON:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pocket IdP admin API",
            "version": "1",
            "description": "Users, clients, signing keys, sessions and the security "
            "audit events. Every operation "
            "needs a Bearer access token from the client_credentials grant for a client "
            "registered with the `admin` scope. Every error is JSON: `error`, "
            "`error_description` and `field` (the field at fault, or null).",
        },
        "servers": [{"url": issuer.rstrip("/") + PREFIX}],
        "paths": paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "admin": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": issuer.rstrip("/") + "/token",
                            "scopes": {"admin": "this API"},
                        }
                    },
                }
            },
        },
    }
