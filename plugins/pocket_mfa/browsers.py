"""Browsers that cannot show or scan the wizard's QR code."""

from __future__ import annotations

from starlette.requests import Request


def unsupported(request: Request) -> bool:
    """Internet Explorer: "MSIE" up to version 10, "Trident/" in 11."""
    agent = request.headers.get("user-agent", "")
    return "MSIE " in agent or "Trident/" in agent


_FAMILIES = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"))


def describe(request: Request) -> str:
    """A short name of the browser for the phone ("Firefox 128", "Safari"), or ""."""
    agent = request.headers.get("user-agent", "")
    for marker, name in _FAMILIES:
        if marker in agent:
            version = agent.split(marker, 1)[1].split(".", 1)[0].split(" ", 1)[0]
            return f"{name} {version}" if version.isdigit() else name
    if "Safari/" in agent:
        return "Safari"
    if unsupported(request):
        return "Internet Explorer"
    return agent.split("/", 1)[0][:40]
