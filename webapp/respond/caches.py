"""What the survey pages keep between requests in each worker: campaigns and first views.

**Campaigns.** Every page view and every posted page needs its campaign and instrument; reading
them anew for each request was a fifth of a page view's cost. They are kept for
``GAPMETER_CAMPAIGN_CACHE_SECONDS`` (default 5; 0 turns it off). A changed campaign window
(opened, closed or moved by hand) therefore reaches each worker's first views of a survey at
most that much later, unless the change was made in the same worker (the studio forgets the
campaign); opening and closing at the set times is exact. Posting a page that is not the last
reads the campaign anew, so nobody answers another page of a closed survey. Nothing is stored on
the strength of the cache: ``submit_response`` reads the campaign again inside its write
transaction and refuses a response to a campaign that is not open.

**First views.** The page a respondent first sees (a GET: nothing filled in, no problems) is the
same HTML for everyone but for three values: the CSRF token, the signed form state and, on an
invitation, the token. It is drawn once per page, language and address and kept as the text
between those values (``routes.first_view``); the instrument version behind a page never
changes (design.md), so these need no expiry.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from flask import Flask, current_app

from surveys.instrument import Instrument
from surveys.services.campaigns import CampaignFacts

CAMPAIGNS = "gapmeter.respond.campaigns"
FIRST_VIEWS = "gapmeter.respond.first_views"
#: Campaigns and first views kept per worker (least recently used go first).
CAMPAIGN_ENTRIES = 256
FIRST_VIEW_ENTRIES = 512

Found = tuple[CampaignFacts, Instrument]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TimedCache(Generic[K, V]):
    """Values by key, each kept ``seconds`` after it was made, at most ``size`` of them."""

    def __init__(self, seconds: float, size: int) -> None:
        self.seconds = seconds
        self.size = size
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V | None], *, renew: bool = False) -> V | None:
        """The value of ``key`` while it is fresh, else (or with ``renew``) ``make()``, kept
        unless it is None."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if not renew and entry is not None and now - entry[0] < self.seconds:
                self._entries.move_to_end(key)
                return entry[1]
        value = make()
        if value is not None and self.seconds > 0:
            with self._lock:
                self._entries[key] = (now, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return value

    def forget(self, key: K) -> None:
        """Drop ``key``: the next ``get`` makes it anew."""
        with self._lock:
            self._entries.pop(key, None)


def init_app(app: Flask) -> None:
    seconds = float(app.config["GAPMETER_CAMPAIGN_CACHE_SECONDS"])
    app.extensions[CAMPAIGNS] = TimedCache[str, Found](seconds, CAMPAIGN_ENTRIES)
    app.extensions[FIRST_VIEWS] = TimedCache[Hashable, tuple[bytes, ...]](
        math.inf, FIRST_VIEW_ENTRIES
    )


def campaign_cache() -> TimedCache[str, Found]:
    cache: TimedCache[str, Found] = current_app.extensions[CAMPAIGNS]
    return cache


def first_views() -> TimedCache[Hashable, tuple[bytes, ...]]:
    cache: TimedCache[Hashable, tuple[bytes, ...]] = current_app.extensions[FIRST_VIEWS]
    return cache
