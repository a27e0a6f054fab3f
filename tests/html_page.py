"""What a page's HTML says about its elements, read with the standard library's parser:
the attributes of the elements, and the text inside one."""

from __future__ import annotations

from html.parser import HTMLParser

#: elements that have no end tag
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


class Element:
    def __init__(self, tag: str, attributes: dict[str, str]) -> None:
        self.tag = tag
        self.attributes = attributes
        self.text = ""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data


def elements(html: str, tag: str | None = None) -> list[Element]:
    """Every element of the page (of `tag`), in document order."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return [e for e in reader.elements if tag is None or e.tag == tag]


def element_by_id(html: str, element_id: str) -> Element:
    [found] = [e for e in elements(html) if e.attributes.get("id") == element_id]
    return found
