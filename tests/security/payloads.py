"""The hostile-text corpus and the checks every output is held to (security.md S1, S4, S6, T1,
T2, T5, T8). This module has no tests; the corpus tests place these payloads in every free-text
input and read every output back.

A payload is *escaped* in an HTML page when its markup never appears as markup: the raw text
(with its ``<``) is absent, and no element or attribute the payload would create is present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import yaml

from surveys.instrument import Instrument
from surveys.instrument_loader import load_instrument_text

HOSTILE_YAML = Path(__file__).parent / "data" / "hostile-instrument.yaml"
#: The marker every text of ``hostile-instrument.yaml`` carries.
MARKER = "PAYLOAD"


@dataclass(frozen=True)
class Payload:
    """One hostile string and the class it belongs to."""

    name: str
    kind: str  # xss | html | formula | sql | unicode | template | long
    text: str


PAYLOADS: tuple[Payload, ...] = (
    Payload("script", "xss", "<script>alert(1)</script>"),
    Payload("img-onerror", "xss", '"><img src=x onerror=alert(1)>'),
    Payload("svg-onload", "xss", "<svg/onload=alert(1)>"),
    Payload("attr-breakout", "xss", "' autofocus onfocus='alert(1)"),
    Payload("js-url", "xss", '<a href="javascript:alert(1)">click</a>'),
    Payload("textarea-breakout", "xss", "</textarea><script>alert(1)</script>"),
    Payload("file-img", "html", '<img src="file:///etc/passwd">'),
    Payload("css-import", "html", "<style>@import url(http://169.254.169.254/)</style>"),
    Payload("iframe", "html", '<iframe srcdoc="<script>alert(1)</script>"></iframe>'),
    Payload("hyperlink", "formula", '=HYPERLINK("http://evil","click")'),
    Payload("dde", "formula", "+cmd|' /C calc'!A0"),
    Payload("at-sum", "formula", "@SUM(1)"),
    Payload("minus", "formula", "-2+3"),
    Payload("tab", "formula", "\t=1+2"),
    Payload("quote-sep", "formula", '";=1+2,"x'),
    Payload("drop-table", "sql", "'; DROP TABLE response; --"),
    Payload("or-true", "sql", "' OR '1'='1"),
    Payload("union", "sql", "1) UNION SELECT password_hash FROM user_account --"),
    Payload("bidi", "unicode", "abc\u202edcba\u202c \u2066x\u2069"),
    Payload("zero-width", "unicode", "pa\u200bss\u200dword\ufeff"),
    Payload("emoji-cjk", "unicode", "😀 服務 👍🏽 é"),
    Payload("jinja", "template", "{{ 7*7 }} {{ config }} {% for x in [1] %}loop{% endfor %}"),
    Payload("long", "long", "<b>" + "A" * 3000 + "</b>"),
)

#: Payloads that are markup; each must never reach a page unescaped.
MARKUP = tuple(p for p in PAYLOADS if "<" in p.text)


def payload_ids(payloads: tuple[Payload, ...] = PAYLOADS) -> list[str]:
    return [payload.name for payload in payloads]


# Instruments ----------------------------------------------------------------------------------
def hostile_instrument(text: str, *, key: str = "hostile", version: int = 1) -> Instrument:
    """``hostile-instrument.yaml`` with every author text carrying ``text``, loaded through the
    real YAML loader as an uploaded file would be (so its checks apply)."""
    return load_instrument_text(hostile_yaml(text, key=key, version=version), "hostile.yaml")


def hostile_yaml(text: str, *, key: str = "hostile", version: int = 1) -> str:
    document = yaml.safe_load(HOSTILE_YAML.read_text(encoding="utf-8"))
    document["key"], document["version"] = key, version
    return yaml.safe_dump(_fill(document, text), allow_unicode=True, sort_keys=False)


def _fill(node: object, text: str) -> object:
    if isinstance(node, dict):
        return {name: _fill(value, text) for name, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, text) for value in node]
    if isinstance(node, str):
        return node.replace(MARKER, text)
    return node


# Checking HTML --------------------------------------------------------------------------------
_EVENT_ATTRIBUTE = re.compile(r"^on[a-z]+$")


class _Markup(HTMLParser):
    """Elements, event-handler attributes and ``javascript:`` URLs of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.handlers: list[tuple[str, str]] = []
        self.script_urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_script = tag == "script"
        for name, value in attrs:
            if _EVENT_ATTRIBUTE.match(name):
                self.handlers.append((tag, name))
            if name in {"href", "src", "action", "formaction", "srcdoc"} and value:
                if value.strip().lower().startswith(("javascript:", "data:text/html")):
                    self.script_urls.append(value)
                if name == "srcdoc":
                    self.script_urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def markup_of(html: str) -> _Markup:
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser


def assert_escaped(html: str, payload: str, where: str) -> None:
    """``payload`` (if markup) does not appear raw, and the page has no element, handler or URL
    that payload could have made: no ``<script>``, ``<iframe>``, ``<object>``, ``<embed>``, no
    ``on*=`` attribute, no ``javascript:`` URL (the app's own pages have none of these; its
    charts are inline SVG, so ``<svg>`` and ``<style>`` are judged by the raw-payload check)."""
    if "<" in payload:
        assert payload not in html, f"{where}: payload appears unescaped"
    found = markup_of(html)
    for tag in ("script", "iframe", "object", "embed"):
        assert tag not in found.tags, f"{where}: a <{tag}> element is on the page"
    assert found.handlers == [], f"{where}: event handler attributes {found.handlers}"
    assert found.script_urls == [], f"{where}: script URLs {found.script_urls}"


def assert_shown_literally(html: str, payload: str, where: str) -> None:
    """A reader of the page sees ``payload`` exactly as typed: markup as text, template syntax
    unevaluated (S4), bidi and zero-width characters kept."""
    assert_escaped(html, payload, where)
    assert payload in page_text(html), f"{where}: payload not shown as text"


def page_text(html: str) -> str:
    """The text of a page as a reader sees it (entities decoded, tags dropped)."""

    class _Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)
