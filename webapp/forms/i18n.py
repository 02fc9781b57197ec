"""The survey pages' own words (buttons, captions, notices) in the languages instruments ship.

Instrument text comes from the instrument; these are the strings around it. A language without
an entry falls back by base language (``zh`` → ``zh-Hant``), then to English.
"""

from __future__ import annotations

UI: dict[str, dict[str, str]] = {
    "en": {
        "back": "Back",
        "next": "Next",
        "submit": "Submit my answers",
        "page_of": "Page {page} of {pages}",
        "progress_label": "Progress",
        "not_applicable": "Not applicable",
        "optional": "optional",
        "expectation": "What you expect of an excellent company",
        "perception": "What you experienced with us",
        "importance": "How important this is to you",
        "allocation_title": "What matters most to you",
        "allocation_intro": (
            "Share {total} points among these areas to show how much each one matters to you. "
            "Give more points to what matters more; 0 is allowed."
        ),
        "allocation_total": "Points given: {spent} of {total}",
        "points": "points",
        "error_summary": "Please check these answers",
        "errors_elsewhere": "Some answers on this page need your attention before you submit.",
        "csrf_resubmit": (
            "Your page had been open a long time, so we could not accept it yet. Your answers "
            "are kept below; please check them and press the button again."
        ),
        "language": "Language",
        "thanks_title": "Thank you",
        "thanks_default": "Your answers have been saved. Thank you for your time.",
        "close_page": "You can close this page now.",
        "unknown_title": "Survey not found",
        "unknown": "We could not find a survey at this address. Please check the link.",
        "unknown_invitation": (
            "This invitation link is not valid. Please open the link from your invitation "
            "again, or check that it was copied in full."
        ),
        "not_open_title": "This survey has not opened yet",
        "not_open": "It opens on {date}. Please come back then.",
        "closed_title": "This survey has closed",
        "closed": "Thank you for your interest. This survey is no longer collecting answers.",
        "used_title": "Already answered",
        "used": "The answers for this invitation have already been received. Thank you.",
        "invitation_only_title": "Invitation only",
        "invitation_only": (
            "This survey is by invitation. Please use the link from your invitation."
        ),
        "replayed_conflict": (
            "This survey form was already submitted with different answers. "
            "The first submission was kept."
        ),
        "max_chars": "Up to {count} characters.",
        "skip": "Skip to content",
        "busy_title": "Please try again in a moment",
        "busy_saving": (
            "We could not save your answers just now because the service is busy. Nothing is "
            "lost: your answers are kept below. Please press the button again in a moment."
        ),
        "busy_kept": (
            "We could not take your answers just now because the service is busy. Nothing is "
            "lost: they are kept on this page. Please press Try again in a moment."
        ),
        "busy_page": "The survey is briefly unavailable. Please reload this page in a moment.",
        "try_again": "Try again",
    },
    "zh-Hant": {
        "back": "上一頁",
        "next": "下一頁",
        "submit": "提交答案",
        "page_of": "第 {page} 頁，共 {pages} 頁",
        "progress_label": "進度",
        "not_applicable": "不適用",
        "optional": "選填",
        "expectation": "您對卓越公司的期望",
        "perception": "您在我們這裡的實際體驗",
        "importance": "此項對您的重要程度",
        "allocation_title": "您最重視甚麼",
        "allocation_intro": (
            "請將 {total} 分分配給以下各方面，以表示每一方面對您的重要程度。"
            "越重要的給越多分；可以給 0 分。"
        ),
        "allocation_total": "已分配：{spent} / {total} 分",
        "points": "分",
        "error_summary": "請檢查以下答案",
        "errors_elsewhere": "提交前，本頁有些答案需要您再確認。",
        "csrf_resubmit": "此頁開啟時間較長，暫時未能接收。您的答案已保留，請檢查後再按一次按鈕。",
        "language": "語言",
        "thanks_title": "謝謝您",
        "thanks_default": "您的答案已儲存。感謝您撥冗填寫。",
        "close_page": "您現在可以關閉此頁。",
        "unknown_title": "找不到問卷",
        "unknown": "此網址沒有問卷。請檢查連結。",
        "unknown_invitation": "此邀請連結無效。請再次開啟邀請中的連結，或確認連結已完整複製。",
        "not_open_title": "問卷尚未開放",
        "not_open": "問卷將於 {date} 開放，屆時歡迎再來。",
        "closed_title": "問卷已結束",
        "closed": "感謝您的關注。此問卷已停止收集答案。",
        "used_title": "已經回答",
        "used": "我們已收到此邀請的答案。謝謝您。",
        "invitation_only_title": "僅限受邀者",
        "invitation_only": "此問卷僅限受邀者填寫。請使用邀請中的連結。",
        "replayed_conflict": "此問卷表單已用不同的答案提交過，系統保留了第一次提交的答案。",
        "max_chars": "最多 {count} 個字。",
        "skip": "跳至內容",
        "busy_title": "請稍後再試",
        "busy_saving": (
            "系統忙碌，暫時未能儲存您的答案。答案沒有遺失，已保留在下方，請稍後再按一次按鈕。"
        ),
        "busy_kept": (
            "系統忙碌，暫時未能接收您的答案。答案沒有遺失，已保留在此頁，請稍後按「再試一次」。"
        ),
        "busy_page": "問卷暫時無法使用，請稍後重新載入此頁。",
        "try_again": "再試一次",
    },
}

#: Native names for the language switcher.
LANGUAGE_NAMES = {
    "en": "English",
    "zh-Hant": "繁體中文",
    "zh-Hans": "简体中文",
    "zh": "中文",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "ja": "日本語",
    "ko": "한국어",
}


def ui_language(language: str | None) -> str:
    """The UI table that serves ``language``: exact, then same base language, then English."""
    if language in UI:
        return language
    base = (language or "").split("-")[0].lower()
    return next((lang for lang in UI if lang.split("-")[0].lower() == base), "en")


def ui(key: str, language: str | None, **values: object) -> str:
    """One UI string in ``language``, with ``{placeholders}`` filled from ``values``."""
    text = UI[ui_language(language)].get(key) or UI["en"][key]
    return text.format(**values) if values else text


def language_name(language: str) -> str:
    return LANGUAGE_NAMES.get(language, language)
