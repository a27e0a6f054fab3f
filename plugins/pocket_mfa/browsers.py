"""Browsers that cannot show or scan the wizard's QR code."""

from __future__ import annotations

from starlette.requests import Request


def unsupported(request: Request) -> bool:
    """Internet Explorer: "MSIE" up to version 10, "Trident/" in 11."""
    agent = request.headers.get("user-agent", "")
    return "MSIE " in agent or "Trident/" in agent
