"""The only way WeasyPrint may load anything while it renders a report.

``PackagedAssetsOnly`` serves the report's own packaged assets by exact name (``asset:NAME``) and
``data:`` images up to ``MAX_DATA_BYTES`` (the charts), and refuses every other URL: ``file:``,
``http(s):``, ``ftp:``, unknown schemes, relative paths and oversized or unexpected ``data:``
URLs (security.md T10, S7). A refusal
raises ``FatalURLFetchingError``, which stops the render instead of logging a warning and going
on, so a template or data bug that makes WeasyPrint reach outside fails loudly. Redirects are
never followed: the fetcher never opens a network connection at all.

Pass the same instance to ``HTML(...)`` and to every ``CSS(...)``, and never pass URLs in
``stylesheets=``, ``attachments=`` or ``xmp_metadata=`` (CVE-2026-55073).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from urllib.parse import unquote_to_bytes

from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

ASSET_SCHEME = "asset:"
#: Largest ``data:`` URL body accepted, decoded (the report's charts are SVG data: URLs of a few
#: tens of kilobytes).
MAX_DATA_BYTES = 2 * 1024 * 1024
DATA_TYPES = frozenset({"image/svg+xml", "image/png"})


@dataclass(frozen=True, slots=True)
class Asset:
    """A packaged file the report may load, read from the installed package, never a path join
    on a requested name."""

    mime: str
    read: Callable[[], bytes]


def _static(name: str) -> Callable[[], bytes]:
    def read() -> bytes:
        return resources.files("analysis.report").joinpath("static", name).read_bytes()

    return read


def _font(package: str, path: str) -> Callable[[], bytes]:
    """A font file shipped by an OFL font package from PyPI."""

    def read() -> bytes:
        return resources.files(package).joinpath(path).read_bytes()

    return read


_LATIN_SANS = "font_source_sans_pro"
_LATIN_SERIF = "font_source_serif_pro"
_CJK = "pylopdf_fonts_zh_tw"  # Noto Sans TC / Noto Serif TC (OFL), Traditional Chinese glyphs

#: Exact names the report may load: ``asset:<name>``. Fonts: Source Sans / Serif Pro for Latin
#: text (with semibold and italic), Noto Sans / Serif TC for CJK (the same design family).
PACKAGED_ASSETS: Mapping[str, Asset] = {
    "report.css": Asset("text/css", _static("report.css")),
    "fonts/SourceSansPro-Regular.otf": Asset(
        "font/otf", _font(_LATIN_SANS, "files/SourceSansPro-Regular.otf")
    ),
    "fonts/SourceSansPro-Semibold.otf": Asset(
        "font/otf", _font(_LATIN_SANS, "files/SourceSansPro-Semibold.otf")
    ),
    "fonts/SourceSansPro-It.otf": Asset(
        "font/otf", _font(_LATIN_SANS, "files/SourceSansPro-It.otf")
    ),
    "fonts/SourceSerifPro-Regular.otf": Asset(
        "font/otf", _font(_LATIN_SERIF, "files/SourceSerifPro-Regular.otf")
    ),
    "fonts/NotoSansTC-Regular.otf": Asset("font/otf", _font(_CJK, "NotoSansTC-Regular.otf")),
    "fonts/NotoSerifTC-Regular.otf": Asset("font/otf", _font(_CJK, "NotoSerifTC-Regular.otf")),
}


class RefusedURLError(FatalURLFetchingError):
    """WeasyPrint asked for a URL outside the allow-list."""


class PackagedAssetsOnly(URLFetcher):
    """Serve the report's own fonts and CSS (and small data: images); refuse every other URL."""

    def __init__(self, assets: Mapping[str, Asset] = PACKAGED_ASSETS) -> None:
        super().__init__(
            timeout=2, allowed_protocols={"asset", "data"}, allow_redirects=False,
            fail_on_errors=True,
        )  # fmt: skip
        self._assets = dict(assets)
        self._cache: dict[str, bytes] = {}

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        if url.startswith(ASSET_SCHEME):
            name = url.removeprefix(ASSET_SCHEME)
            asset = self._assets.get(name)
            if asset is not None:
                if name not in self._cache:
                    self._cache[name] = asset.read()
                return URLFetcherResponse(url, self._cache[name], {"Content-Type": asset.mime})
        elif url.startswith("data:"):
            mime, body = decode_data_url(url)
            return URLFetcherResponse(url, body, {"Content-Type": mime})
        raise RefusedURLError(f"report asset not allowed: {url[:80]!r}")


def decode_data_url(url: str) -> tuple[str, bytes]:
    """``(mime, body)`` of an image ``data:`` URL of at most ``MAX_DATA_BYTES``, else
    ``RefusedURLError``."""
    header, sep, payload = url[len("data:") :].partition(",")
    parts = [p.strip().lower() for p in header.split(";")]
    mime = parts[0] or "text/plain"
    if not sep or mime not in DATA_TYPES:
        raise RefusedURLError(f"data: URL of type {mime[:40]!r} not allowed")
    if len(payload) > MAX_DATA_BYTES * 4 // 3 + 4:
        raise RefusedURLError("data: URL too large")
    try:
        body = base64.b64decode(payload, validate=True) if "base64" in parts[1:] else (
            unquote_to_bytes(payload)
        )  # fmt: skip
    except (binascii.Error, ValueError) as error:
        raise RefusedURLError("data: URL malformed") from error
    if len(body) > MAX_DATA_BYTES:
        raise RefusedURLError("data: URL too large")
    return mime, body
