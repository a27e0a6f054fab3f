"""Tokens signed by the key ring verify with jwcrypto, for each algorithm."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from jwcrypto import jwk, jws

from idp.keys import ALGORITHMS, KeyRing
from idp.store.sqlite import SqliteStore
from tests.conftest import make_settings


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_signed_tokens_verify_against_the_published_jwks(tmp_path: Path, alg: str) -> None:
    ring = KeyRing(SqliteStore(tmp_path / "keys.sqlite3"), make_settings(tmp_path))
    asyncio.run(ring.ensure())
    claims = {"iss": "https://idp.test", "sub": "ü-1", "aud": "rp", "n": 1}
    token = ring.sign(claims, alg, typ="at+jwt")
    keys = jwk.JWKSet.from_json(ring.jwks_bytes())
    parsed = jws.JWS()
    parsed.deserialize(token)
    header = parsed.jose_header
    assert header == {"alg": alg, "kid": header["kid"], "typ": "at+jwt"}
    parsed.verify(keys.get_key(header["kid"]), alg=alg)
    assert json.loads(parsed.payload) == claims
    tampered = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    bad = jws.JWS()
    bad.deserialize(tampered)
    with pytest.raises(jws.InvalidJWSSignature):
        bad.verify(keys.get_key(header["kid"]), alg=alg)
