"""QR codes as inline SVG (no image request, no script), for otpauth:// and pocket://
URIs. Drawing one takes tens of milliseconds of pure Python, so pages have it drawn in a
worker thread (`qr_code`, through `FactorHost.run_blocking`), never on the event loop."""

from __future__ import annotations

import qrcode
import qrcode.constants
from markupsafe import Markup
from qrcode.image.svg import SvgPathFillImage

from idp.factors import FactorHost


def qr_svg(data: str, label: str) -> Markup:
    """An SVG QR code with the standard quiet zone, sized by the page's CSS."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=4,
        image_factory=SvgPathFillImage,
    )
    code.add_data(data)
    code.make(fit=True)
    svg = code.make_image().to_string(encoding="unicode")
    assert isinstance(svg, str)
    # drop the fixed size in mm; the page decides how large it is shown
    head, rest = svg.split(">", 1)
    head = " ".join(p for p in head.split(" ") if not p.startswith(("width=", "height=")))
    attrs = f' role="img" aria-label="{Markup.escape(label)}" shape-rendering="crispEdges"'
    return Markup(head + attrs + ">" + rest)


async def qr_code(host: FactorHost, data: str, label: str) -> Markup:
    """`qr_svg`, drawn in one of the host's worker threads."""
    return await host.run_blocking(qr_svg, data, label)
