"""Pairing setups: the pairing code that one wizard page (or one manage page) shows.

A setup keeps its one-time pairing token (sealed) for as long as the token is valid, so
reloading the page shows the same QR code; once the token has expired the page gets a
fresh one. The phone pairs through the device API; the page then *claims* the pairing
once (`claim`), which is when the wizard moves on.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.store import RecordView
from plugins.pocket_mfa.push.devices import Device
from plugins.pocket_mfa.push.pairing import PairingService
from plugins.pocket_mfa.secrets_at_rest import SecretBox

MODEL = "pair-setup"


@dataclass(frozen=True)
class PairingSetup:
    token: str
    uri: str
    expires_at: float


class Pairings:
    def __init__(self, records: RecordView, box: SecretBox, pairing: PairingService) -> None:
        self.records = records
        self.box = box
        self.pairing = pairing

    async def _find(self, setup_id: str, sub: str) -> PairingSetup | None:
        record = await self.records.find(MODEL, setup_id)
        if record is None or record.get("consumed") or record.get("sub") != sub:
            return None
        token = self.box.open(record["token"], sub)
        return PairingSetup(token, record["uri"], float(record["expires_at"]))

    async def open(self, setup_id: str, sub: str) -> PairingSetup:
        """This page's pairing code; a new one if there is none or it expired, unless the
        old one has paired a device already (then that one, to be claimed)."""
        found = await self._find(setup_id, sub)
        if found is not None and (
            found.expires_at > self.pairing.clock() or await self.pairing.paired_device(found.token)
        ):
            return found
        async with self.records.unit():
            token, uri = await self.pairing.create_pairing(sub)
            expires_at = self.pairing.clock() + self.pairing.ttl
            payload = {
                "sub": sub,
                "token": self.box.seal(token, sub),
                "uri": uri,
                "expires_at": expires_at,
            }
            # the setup outlives its token a little, so a late answer is still claimed here
            await self.records.upsert(MODEL, setup_id, payload, expires_in=self.pairing.ttl + 600)
        return PairingSetup(token, uri, expires_at)

    async def current(self, setup_id: str, sub: str) -> PairingSetup | None:
        """The setup as it is, without making a new code."""
        return await self._find(setup_id, sub)

    async def paired(self, setup_id: str, sub: str) -> Device | None:
        """The device that paired with this page's code, if one has."""
        found = await self._find(setup_id, sub)
        if found is None:
            return None
        device = await self.pairing.paired_device(found.token)
        return device if device is not None and device.sub == sub else None

    async def claim(self, setup_id: str) -> bool:
        """End the setup once; False if another request ended it first."""
        async with self.records.unit():
            done = await self.records.consume(MODEL, setup_id) is not None
            await self.records.destroy(MODEL, setup_id)
        return done

    async def drop(self, setup_id: str) -> None:
        await self.records.destroy(MODEL, setup_id)
