"""The device API v1 described as OpenAPI 3.1, for partners who build a Pocket app."""

from __future__ import annotations

from typing import Any

from plugins.pocket_mfa.push.protocol import MAX_TOKEN_LIFETIME, MAX_WAIT, api_base

JSON = dict[str, Any]


def _ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: JSON, description: str) -> JSON:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> JSON:
    statuses = {
        "400": "Refused; `error` is one of the codes listed in the operation.",
        "401": "invalid_device_token: missing, badly signed, expired or replayed token.",
        "403": "foreign_device: the challenge belongs to another user's device.",
        "409": "challenge_closed: answered already.",
        "410": "challenge_no_longer_valid: the challenge expired, or was withdrawn because "
        "its login was stopped, finished another way or sent anew. Tell the user that this "
        "request is no longer valid.",
    }
    return {code: _json(_ref("Error"), statuses[code]) for code in codes} | _LIMITED


#: every operation but this document counts against the address ([rate_limits] device_api)
_LIMITED: JSON = {
    "429": {
        **_json(
            _ref("Error"),
            "too_many_requests: this address sent more requests than the server allows "
            "in its window (RFC 6585 4); nothing was done. Try again after Retry-After.",
        ),
        "headers": {
            "Retry-After": {
                "description": "seconds until the next window begins (RFC 9110 10.2.3)",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    }
}


def _object(required: list[str], **properties: JSON) -> JSON:
    return {"type": "object", "required": required, "properties": properties}


SIGNED_MESSAGE = "pocket-answer.v1|<challenge id>|<decision>|<number or empty>|<fraud 0/1>"

SCHEMAS: JSON = {
    "Error": _object(
        ["error", "error_description"],
        error={"type": "string"},
        error_description={"type": "string"},
    ),
    "PublicJwk": {
        "description": "EC P-256 (ES256) or OKP Ed25519 (EdDSA); public members only.",
        **_object(
            ["kty", "crv", "x"],
            kty={"enum": ["EC", "OKP"]},
            crv={"enum": ["P-256", "Ed25519"]},
            x={"type": "string"},
            y={"type": "string", "description": "EC only"},
        ),
    },
    "PairRequest": _object(
        ["pairing_token", "public_key", "device_name"],
        pairing_token={"type": "string", "pattern": "^pp_", "description": "from the QR code"},
        public_key=_ref("PublicJwk"),
        device_name={"type": "string", "maxLength": 100},
        push_address={"type": "string", "description": "for the partner's push relay"},
    ),
    "Paired": _object(
        ["device_id", "issuer", "account"],
        device_id={"type": "string"},
        issuer={"type": "string", "format": "uri"},
        account={"type": "string", "description": "the user name"},
    ),
    "Challenge": _object(
        ["id", "client_name", "created_at", "expires_at", "ip", "browser", "location", "numbers"],
        id={"type": "string"},
        client_name={"type": "string"},
        created_at={"type": "integer", "description": "unix time"},
        expires_at={"type": "integer", "description": "unix time"},
        ip={"type": "string"},
        browser={"type": "string"},
        location={"type": ["string", "null"]},
        numbers={
            "type": ["array", "null"],
            "items": {"type": "integer", "minimum": 10, "maximum": 99},
            "minItems": 3,
            "maxItems": 3,
            "description": "number matching: the user taps the one the browser shows",
        },
    ),
    "Challenges": _object(["challenges"], challenges={"type": "array", "items": _ref("Challenge")}),
    "Answer": _object(
        ["decision", "signature"],
        decision={"enum": ["approve", "deny"]},
        number={"type": "integer", "description": "required to approve with number matching"},
        fraud={"type": "boolean", "default": False, "description": "only with deny"},
        signature={
            "type": "string",
            "description": "base64url of the device's signature (ES256 raw r||s, or Ed25519) "
            f"over the UTF-8 bytes of `{SIGNED_MESSAGE}`",
        },
    ),
    "AnswerResult": _object(
        ["status"], status={"enum": ["approved", "denied", "fraud", "wrong_number"]}
    ),
    "Device": _object(
        ["device_id", "name", "paired_at", "last_used"],
        device_id={"type": "string"},
        name={"type": "string"},
        paired_at={"type": "integer"},
        last_used={"type": "integer"},
    ),
}

DEVICE_AUTH = (
    "`Authorization: Device <JWT>`, signed with the device key (ES256 or EdDSA); claims "
    "iss = device_id, aud = this API's URL, iat, exp (at most "
    f"{MAX_TOKEN_LIFETIME} s after iat) and jti (accepted once)."
)


def _paths() -> JSON:
    secured: list[dict[str, list[str]]] = [{"device": []}]
    return {
        "/pair": {
            "post": {
                "operationId": "pair",
                "summary": "Pair this device with the account of a pairing QR code.",
                "description": "Errors: not_a_pairing_code, expired_pairing_token, "
                "used_pairing_token, invalid_request.",
                "requestBody": _json(_ref("PairRequest"), "the pairing"),
                "responses": {"201": _json(_ref("Paired"), "paired"), **_errors("400")},
            }
        },
        "/challenges": {
            "get": {
                "operationId": "listChallenges",
                "summary": "Open challenges; waits for one (long-poll) if there are none.",
                "description": "A challenge that expired or was withdrawn is no longer "
                "listed: a phone that shows it should drop it.",
                "security": secured,
                "parameters": [
                    {
                        "name": "wait",
                        "in": "query",
                        "schema": {"type": "number", "minimum": 0, "maximum": MAX_WAIT},
                    }
                ],
                "responses": {"200": _json(_ref("Challenges"), "open"), **_errors("400", "401")},
            }
        },
        "/challenges/{id}/answer": {
            "post": {
                "operationId": "answerChallenge",
                "summary": "Approve or deny a challenge (deny may report fraud).",
                "description": "Errors: bad_signature, invalid_request (400), foreign_device "
                "(403), challenge_closed (409), challenge_no_longer_valid (410). A wrong "
                'number fails the login and answers 200 {"status": "wrong_number"}.',
                "security": secured,
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": _json(_ref("Answer"), "the signed answer"),
                "responses": {
                    "200": _json(_ref("AnswerResult"), "taken"),
                    **_errors("400", "401", "403", "409", "410"),
                },
            }
        },
        "/device": {
            "get": {
                "operationId": "getDevice",
                "summary": "This device.",
                "security": secured,
                "responses": {"200": _json(_ref("Device"), "this device"), **_errors("401")},
            },
            "delete": {
                "operationId": "unpairDevice",
                "summary": "Unpair this device.",
                "security": secured,
                "responses": {"204": {"description": "unpaired"}, **_errors("401")},
            },
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document.",
                "responses": {"200": {"description": "OpenAPI 3.1"}},
            }
        },
    }


def openapi_document(issuer: str) -> JSON:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pocket device API",
            "version": "1",
            "description": "What a Pocket phone app uses to pair and to answer push logins. "
            "Pairing URI in the QR code: pocket://pair?v=1&issuer=<urlencoded issuer>"
            "&token=<pairing token>.",
        },
        "servers": [{"url": api_base(issuer)}],
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "device": {"type": "http", "scheme": "Device", "description": DEVICE_AUTH}
            },
        },
    }
