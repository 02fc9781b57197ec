"""The locked URL fetcher: packaged assets by exact name and small image data: URLs, nothing else
(security.md T10, S7)."""

from __future__ import annotations

import base64
from importlib import metadata

import pytest
from weasyprint.urls import FatalURLFetchingError, URLFetcher

from analysis.report.fetcher import (
    MAX_DATA_BYTES,
    PACKAGED_ASSETS,
    PackagedAssetsOnly,
    RefusedURLError,
)


def test_weasyprint_is_at_least_70() -> None:
    """v70 fixed CVE-2026-55073 (write_pdf stylesheets= bypassed a custom fetcher)."""
    major = int(metadata.version("weasyprint").split(".")[0])
    assert major >= 70


def test_the_fetcher_is_a_urlfetcher_whose_refusals_stop_the_render() -> None:
    assert isinstance(PackagedAssetsOnly(), URLFetcher)
    assert issubclass(RefusedURLError, FatalURLFetchingError)


@pytest.mark.parametrize("name", sorted(PACKAGED_ASSETS))
def test_every_listed_asset_is_served(name: str) -> None:
    response = PackagedAssetsOnly().fetch(f"asset:{name}")
    body = response.read()
    assert len(body) > 1000
    assert response.content_type == PACKAGED_ASSETS[name].mime


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "file://localhost/etc/hostname",
        "http://127.0.0.1:9/x.css",
        "https://169.254.169.254/latest/meta-data/",
        "ftp://127.0.0.1/x",
        "gopher://127.0.0.1:70/",
        "javascript:alert(1)",
        "asset:../../pyproject.toml",
        "asset:fonts/../report.css",
        "asset:/etc/passwd",
        "asset:REPORT.CSS",
        "asset:",
        "report.css",
        "//127.0.0.1/x",
        "data:text/html,<script>alert(1)</script>",
        "data:text/css,body{background:url(http://127.0.0.1/)}",
        "data:image/svg+xml;base64,!!!not-base64!!!",
    ],
)
def test_everything_else_is_refused(url: str) -> None:
    with pytest.raises(RefusedURLError):
        PackagedAssetsOnly().fetch(url)


def test_small_image_data_urls_are_served() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
    url = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    response = PackagedAssetsOnly().fetch(url)
    assert response.read() == svg
    assert response.content_type == "image/svg+xml"


def test_oversized_data_urls_are_refused() -> None:
    big = base64.b64encode(b"x" * (MAX_DATA_BYTES + 1)).decode()
    with pytest.raises(RefusedURLError, match="too large"):
        PackagedAssetsOnly().fetch("data:image/png;base64," + big)


def test_a_refusal_does_not_echo_a_long_url() -> None:
    with pytest.raises(RefusedURLError) as caught:
        PackagedAssetsOnly().fetch("http://127.0.0.1/" + "a" * 5000)
    assert len(str(caught.value)) < 200
