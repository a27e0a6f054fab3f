"""Signing keys (jwcrypto): creation on first start, rotation, the published JWKS.

One active key per algorithm signs; after `idp keys rotate` the old key stops signing
but its public half stays in the JWKS until every token it signed has expired.

The ring reads the keys from the store (`load`) and then works from what it read:
signing and checking signatures need no trip to the store. A running server loads them
again every 30 seconds (`keep_loaded`), so it picks up a rotation made by another
process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from idp.jws_sign import sign_compact
from idp.offload import run_sync
from idp.settings import Settings
from idp.store import SigningKey, Store

ALGORITHMS = ("RS256", "ES256")

log = logging.getLogger("idp")

#: the counter whose hit orders servers that make their first keys at the same moment
ENSURE_LOCK = "signing-keys:ensure"

#: how often a running server looks for keys rotated by another process
RELOAD_SECONDS = 30


@dataclass(frozen=True)
class _Loaded:
    #: alg -> (kid, the private key as a `cryptography` object)
    signing: dict[str, tuple[str, Any]]
    public: dict[str, jwk.JWK]
    jwks_bytes: bytes
    loaded_at: float


def generate_key(alg: str, rsa_bits: int = 2048) -> SigningKey:
    kid = uuid.uuid4().hex[:16]
    if alg == "RS256":
        key = jwk.JWK.generate(kty="RSA", size=rsa_bits, kid=kid, use="sig", alg=alg)
    elif alg == "ES256":
        key = jwk.JWK.generate(kty="EC", crv="P-256", kid=kid, use="sig", alg=alg)
    else:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    return SigningKey(
        kid=kid, alg=alg, private_jwk=key.export_private(), created_at=int(time.time())
    )


class KeyRing:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._loaded: _Loaded | None = None

    @property
    def default_alg(self) -> str:
        return self.settings.keys.algorithm

    async def ensure(self) -> list[SigningKey]:
        """Create an active key for each algorithm that has none, and load the keys.
        Returns the new keys.

        Servers that start at the same moment on one store each make candidates, but
        only one of them keeps its own: the check and the additions are one unit of work
        that begins by taking the same counter (ENSURE_LOCK), so a second such unit waits
        for the first to end and then finds its keys."""
        active = {k.alg for k in await self.store.list_keys() if k.rotated_at is None}
        missing = [alg for alg in ALGORITHMS if alg not in active]
        if not missing:  # the usual start: nothing to make
            await self.load()
            return []
        candidates = await run_sync(self._generate, missing)
        created = []
        async with self.store.unit():
            await self.store.hit(ENSURE_LOCK, 60)
            active = {k.alg for k in await self.store.list_keys() if k.rotated_at is None}
            for key in candidates:
                if key.alg not in active:
                    await self.store.add_key(key)
                    created.append(key)
        await self.load()
        return created

    def _generate(self, algs: list[str]) -> list[SigningKey]:
        return [generate_key(alg, self.settings.keys.rsa_bits) for alg in algs]

    async def rotate(self, algs: tuple[str, ...] = ALGORITHMS) -> list[SigningKey]:
        """Add a new active key per algorithm; keep the old ones published until expiry."""
        now = int(time.time())
        keep_for = max(self.settings.tokens.id_token_ttl, self.settings.tokens.access_token_ttl)
        new = await run_sync(self._generate, list(algs))
        async with self.store.unit():
            for key in await self.store.list_keys():
                if key.alg in algs and key.rotated_at is None:
                    retired = replace(key, rotated_at=now, retire_at=now + keep_for + 60)
                    await self.store.update_key(retired)
            for key in new:
                await self.store.add_key(key)
        await self.load()
        return new

    async def load(self) -> None:
        """Read the keys from the store; what signs and checks from now on."""
        self._loaded = _prepare(await self.store.list_keys())

    async def keep_loaded(self) -> None:
        """Load the keys again every RELOAD_SECONDS, until cancelled."""
        while True:
            await asyncio.sleep(RELOAD_SECONDS)
            try:
                await self.load()
            except Exception:
                log.exception("the signing keys could not be loaded again")

    def _load(self) -> _Loaded:
        if self._loaded is None:
            raise RuntimeError("the signing keys have not been loaded (KeyRing.load)")
        return self._loaded

    def jwks_bytes(self) -> bytes:
        return self._load().jwks_bytes

    def public_key(self, kid: str) -> jwk.JWK | None:
        return self._load().public.get(kid)

    def verified_claims(self, token: str, typ: str) -> dict[str, Any] | None:
        """The claims of a compact JWS of type `typ` signed by one of our published keys,
        with the algorithm that key is for; None for anything else."""
        try:
            signed = jws.JWS()
            signed.deserialize(token)
            header = signed.jose_header
            key = self.public_key(str(header.get("kid")))
            if key is None or header.get("typ") != typ:
                return None
            signed.verify(key, alg=key.get("alg"))
            claims = json.loads(signed.payload)
        except (JWException, ValueError, TypeError):
            return None
        return claims if isinstance(claims, dict) else None

    def sign(self, claims: dict[str, object], alg: str | None = None, typ: str = "JWT") -> str:
        """A compact JWS; blocking (RSA signing takes about a millisecond)."""
        alg = alg or self.default_alg
        kid, key = self._load().signing[alg]
        return sign_compact(key, {"alg": alg, "kid": kid, "typ": typ}, claims)


def _prepare(keys: list[SigningKey]) -> _Loaded:
    now = time.time()
    signing: dict[str, tuple[str, Any]] = {}
    public: dict[str, jwk.JWK] = {}
    published = []
    for key in keys:
        if key.retire_at is not None and key.retire_at < now:
            continue
        private = jwk.JWK.from_json(key.private_jwk)
        public_json = json.loads(private.export_public())
        public_json.update(kid=key.kid, use="sig", alg=key.alg)
        public[key.kid] = jwk.JWK(**public_json)
        published.append(public_json)
        if key.rotated_at is None:
            signing[key.alg] = (key.kid, private.get_op_key("sign"))
    # newest first, so a client that takes the first key takes the active one
    published.reverse()
    jwks_bytes = json.dumps({"keys": published}, separators=(",", ":")).encode()
    return _Loaded(signing, public, jwks_bytes, time.monotonic())
