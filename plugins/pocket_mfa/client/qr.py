"""Reading a pairing QR code from an image file (a screenshot of the wizard's page)."""

from __future__ import annotations

from pathlib import Path


class QrError(Exception):
    """The image cannot be read or holds no QR code."""


def read_qr(path: Path) -> str:
    try:  # imported here: the commands that read no image start without them
        import zxingcpp
        from PIL import Image
    except ImportError as e:  # only where the package was installed without its dependencies
        need = f"reading QR images needs zxing-cpp and pillow ({e.name} is missing)"
        raise QrError(need) from None
    try:
        with Image.open(path) as image:
            found = zxingcpp.read_barcodes(image.convert("RGB"))
    except OSError as e:
        raise QrError(f"{path}: cannot read the image ({e})") from None
    for barcode in found:
        if barcode.text:
            return str(barcode.text)
    raise QrError(f"{path}: no QR code found in the image")
