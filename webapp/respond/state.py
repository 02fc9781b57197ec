"""What a survey page carries between requests without server-side state: the signed start time
and form nonce, the answers posted so far, and the respondent's language."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

from surveys.answers import AnswerSet
from surveys.instrument import Instrument
from webapp.security import Uncompressed

_SALT = "gapmeter.respond.state"
#: A page kept open longer than this gives no duration (it says nothing about answering time).
MAX_DURATION_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class FormState:
    """When the respondent started (epoch seconds) and the nonce that makes a resubmission of the
    same form a replay, never a second response (security.md §1.5, point 3)."""

    started: float
    nonce: str

    @classmethod
    def new(cls) -> FormState:
        return cls(time.time(), secrets.token_urlsafe(16))

    def dumps(self) -> str:
        return str(_serializer().dumps({"t": round(self.started, 3), "n": self.nonce}))

    @classmethod
    def loads(cls, value: str | None) -> FormState | None:
        """The state from a posted token, or None when it is missing or not ours."""
        if not value:
            return None
        try:
            data = _serializer().loads(value)
            return cls(float(data["t"]), str(data["n"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def duration_seconds(self, now: float | None = None) -> int | None:
        elapsed = (time.time() if now is None else now) - self.started
        if not 0 <= elapsed <= MAX_DURATION_SECONDS:
            return None
        return math.floor(elapsed + 0.5)

    @property
    def idempotency_key(self) -> str:
        return f"web:{self.nonce}"


def _serializer() -> URLSafeSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"])


@functools.lru_cache(maxsize=8)
def _serializer_for(secret_key: str) -> URLSafeSerializer:
    return _PlainSerializer(secret_key, salt=_SALT)


class _PlainSerializer(Uncompressed, URLSafeSerializer):
    """``URLSafeSerializer`` without the zlib try (``webapp.security.Uncompressed``)."""


def posted_answers(instrument: Instrument, form: Mapping[str, str]) -> dict[str, str]:
    """Every slot's posted raw value (``""`` when absent); other form keys are ignored.

    Line breaks are normalised to ``\\n``: browsers post a textarea's newlines as CRLF, which
    would make a text that fits ``maxlength`` in the browser count longer here.
    """
    return {
        slot.name: str(form.get(slot.name, "")).replace("\r\n", "\n") for slot in instrument.slots()
    }


def payload_hash(answers: AnswerSet) -> str:
    canonical = json.dumps(answers.raw(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


#: Chinese regions and the script their readers expect, for matching ``zh-TW`` to ``zh-Hant``.
_CHINESE_SCRIPT = {"tw": "hant", "hk": "hant", "mo": "hant", "cn": "hans", "sg": "hans"}


def choose_language(instrument: Instrument, requested: str | None = None) -> str:
    """``requested`` (``?lang=``) if the instrument has it, else the first of the browser's
    Accept-Language choices (in order of preference) that it has, else its first language."""
    languages = instrument.languages or ("en",)
    if requested and (match := match_language(requested, languages)):
        return match
    for accepted, quality in request.accept_languages:
        if quality > 0 and (match := match_language(accepted, languages)):
            return match
    return languages[0]


def match_language(wanted: str, languages: tuple[str, ...]) -> str | None:
    """The language among ``languages`` that serves ``wanted``: the same tag (any case), the
    same script for Chinese regions (``zh-TW`` → ``zh-Hant``), else the same base language."""
    tag = wanted.strip().replace("_", "-").lower()
    by_tag = {language.lower(): language for language in languages}
    if tag in by_tag:
        return by_tag[tag]
    parts = tag.split("-")
    script = _CHINESE_SCRIPT.get(parts[-1]) if parts[0] == "zh" and len(parts) > 1 else None
    if script and f"zh-{script}" in by_tag:
        return by_tag[f"zh-{script}"]
    return next(
        (language for language in languages if language.lower().split("-")[0] == parts[0]),
        None,
    )
