"""HTML → PDF bytes with WeasyPrint, every load through one locked fetcher.

Kept apart from the model and the charts so that the render child (``sandbox``) imports only
WeasyPrint and the fetcher, not matplotlib.
"""

from __future__ import annotations

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from analysis.report.fetcher import PackagedAssetsOnly


def html_to_pdf(html: str, css: str, fetcher: PackagedAssetsOnly | None = None) -> bytes:
    """Lay out ``html`` with ``css`` in this process. The same fetcher serves the HTML and the
    stylesheet, and nothing is passed as a URL to ``write_pdf`` (no ``stylesheets=`` URLs, no
    ``attachments=``, no ``xmp_metadata=``). Prefer ``sandbox.render_isolated``."""
    fetcher = fetcher if fetcher is not None else PackagedAssetsOnly()
    fonts = FontConfiguration()
    stylesheet = CSS(string=css, url_fetcher=fetcher, font_config=fonts, base_url="asset:")
    document = HTML(string=html, url_fetcher=fetcher, base_url="asset:")
    return bytes(document.write_pdf(stylesheets=[stylesheet], font_config=fonts))
