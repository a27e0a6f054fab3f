"""The pages name an icon for the browser's tab, and it is served."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.conftest import Env
from tests.html_page import elements


def test_every_page_links_the_favicon_and_it_is_served(env: Env) -> None:
    page = env.client.get("/login/no-such-login")  # the base template, as every page
    assert page.headers["content-type"].startswith("text/html")
    [icon] = [e for e in elements(page.text, "link") if e.attributes.get("rel") == "icon"]
    assert icon.attributes["type"] == "image/svg+xml"

    served = env.client.get(icon.attributes["href"])
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("image/svg+xml")
    assert ET.fromstring(served.content).tag == "{http://www.w3.org/2000/svg}svg"
