"""Steps that several browser tests take: logging in to the demo, reading a QR code off
a screenshot, and the amr of the ID token the demo page shows."""

from __future__ import annotations

import io
import json
from typing import Any

from tests.live import LiveServer


def log_in_with_password(page: Any, server: LiveServer, username: str, password: str) -> None:
    page.goto(f"{server.url}/demo")
    page.locator("#demo-login").click()
    page.wait_for_url(f"{server.url}/login/**")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[value=login]")


def read_qr(png: bytes) -> str:
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    # zxing may report one code twice (found from two of its finder patterns)
    texts = {barcode.text for barcode in found}
    assert len(texts) == 1, [(b.text, b.position) for b in found]
    text: str = texts.pop()
    return text


def amr_on(page: Any) -> list[str]:
    claims = json.loads(page.locator("#id-token-claims").inner_text())
    amr: list[str] = claims["amr"]
    return amr
