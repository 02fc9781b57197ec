"""The instrument loader: grammar and defaults, hostile YAML (security.md S5), schema and
semantic problems, each located by file, line and field, all reported at once."""

from __future__ import annotations

import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from surveys.errors import InstrumentError, InstrumentProblem
from surveys.instrument import Importance, Measure, Text
from surveys.instrument_loader import (
    MAX_BYTES,
    instrument_from_json,
    instrument_schema,
    load_instrument_file,
    load_instrument_text,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "instruments"

#: A valid two-dimension instrument of 12 lines; cases below append to it from line 13 on.
BASE = """\
key: demo
version: 1
title: Demo
scales:
  agree7: {points: 7, labels: {1: Disagree, 7: Agree}, not_applicable: true}
  sat5: {points: 5}
dimensions:
  - {key: reliability, label: Reliability}
  - {key: empathy, label: Empathy}
items:
  - {key: rel_1, dimension: reliability, text: Keeps promises, measures: [expectation, perception], scale: agree7}
  - {key: emp_1, dimension: empathy, text: Cares, measures: [expectation, perception], scale: agree7}
"""  # noqa: E501


def problems_of(text: str | bytes, path: str = "demo.yaml") -> list[InstrumentProblem]:
    with pytest.raises(InstrumentError) as caught:
        load_instrument_text(text, path)
    return caught.value.problems


def only_problem(text: str | bytes) -> InstrumentProblem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# Grammar and defaults ----------------------------------------------------------------------------
def test_base_instrument_loads_with_defaults() -> None:
    instrument = load_instrument_text(BASE)

    assert instrument.key == "demo"
    assert instrument.languages == ("en",)
    assert instrument.title == Text((("en", "Demo"),))
    agree = instrument.scale_of(instrument.item("rel_1"))
    assert (agree.min, agree.max, agree.not_applicable) == (1, 7, True)
    assert agree.label(7) == "Agree"
    assert all(item.required and not item.reverse for item in instrument.items)
    assert instrument.importance is None
    assert [slot.name for slot in instrument.slots()] == [
        "rel_1__expectation",
        "rel_1__perception",
        "emp_1__expectation",
        "emp_1__perception",
    ]


def test_default_pages_are_one_per_dimension_then_the_rest() -> None:
    instrument = load_instrument_text(
        BASE
        + "  - {key: overall, text: Overall, measures: [rating], scale: sat5, score: csat}\n"
        + "  - {key: comment, text: Anything else?, measures: [text], required: false}\n"
    )

    pages = [(section.key, section.title, section.items) for section in instrument.sections]
    assert pages == [
        ("reliability", Text((("en", "Reliability"),)), ("rel_1",)),
        ("empathy", Text((("en", "Empathy"),)), ("emp_1",)),
        ("overall", None, ("overall", "comment")),
    ]


def test_plain_words_stay_text_as_in_yaml_1_2() -> None:
    """``no``, ``on`` and ``1:30`` are text, not false and 90 (YAML 1.1 would say otherwise)."""
    instrument = load_instrument_text(
        BASE
        + "  - key: resolved\n"
        + "    text: 1:30\n"
        + "    measures: [choice]\n"
        + "    options: [{key: yes, label: Yes}, {key: no, label: No}, {key: on, label: On}]\n"
    )

    item = instrument.item("resolved")
    assert item.text.get() == "1:30"
    assert [(o.key, o.label.get()) for o in item.options] == [
        ("yes", "Yes"),
        ("no", "No"),
        ("on", "On"),
    ]


def test_quoted_and_str_tagged_values_are_text() -> None:
    problem = only_problem(BASE.replace("version: 1", 'version: "1"'))
    assert (problem.line, problem.field) == (2, "version")
    assert problem.message == 'must be a whole number from 1 up; got "1"'

    instrument = load_instrument_text(BASE.replace("title: Demo", "title: !!str 2024"))
    assert instrument.title.get() == "2024"


def test_texts_follow_the_declared_language_order() -> None:
    source = yaml("""
        key: demo
        version: 1
        title: {zh-Hant: 示範, en: Demo}
        languages: [en, zh-Hant]
        items:
          - {key: comment, text: {en: Say, zh-Hant: 說}, measures: [text], max_length: 300}
    """)
    instrument = load_instrument_text(source)

    assert instrument.title == Text((("en", "Demo"), ("zh-Hant", "示範")))
    assert instrument.title.get("zh-Hant") == "示範"
    assert instrument.item("comment").max_length == 300


def test_scale_as_points_equals_scale_as_min_and_max() -> None:
    by_points = load_instrument_text(BASE)
    by_range = load_instrument_text(BASE.replace("{points: 7,", "{min: 1, max: 7,"))

    assert by_points == by_range
    assert by_points.content_hash == by_range.content_hash


def test_importance_asked_by_items_is_inferred() -> None:
    instrument = load_instrument_text(
        BASE.replace("[expectation, perception]", "[expectation, perception, importance]")
    )

    assert instrument.importance == Importance("item")
    assert "rel_1__importance" in {slot.name for slot in instrument.slots()}


def test_points_allocation_adds_a_slot_per_dimension() -> None:
    instrument = load_instrument_text(BASE + "importance: {method: points, total: 100}\n")

    assert instrument.allocates_importance
    assert [slot.name for slot in instrument.slots()][-2:] == [
        "reliability__importance",
        "empathy__importance",
    ]


def test_content_hash_is_stable_and_tracks_content() -> None:
    first, again = load_instrument_text(BASE), load_instrument_text(BASE)
    reworded = load_instrument_text(BASE.replace("Keeps promises", "Keeps its promises"))

    assert first.content_hash == again.content_hash
    assert len(first.content_hash) == 64
    assert reworded.content_hash != first.content_hash


def test_canonical_json_round_trips() -> None:
    instrument = load_instrument_text(BASE + "importance: {method: points}\n")

    assert instrument_from_json(instrument.to_json()) == instrument


# Hostile YAML (security.md S5) -------------------------------------------------------------------
def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_fast_with_little_memory() -> None:
    bomb = alias_bomb()
    assert len(bomb) < 1024  # would expand to 9**9 = 387,420,489 strings

    tracemalloc.start()
    started = time.perf_counter()
    problem = only_problem(bomb)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert elapsed < 1.0
    assert peak < 5 * 1024 * 1024
    assert (problem.line, problem.field) == (1, "a0")
    assert "anchor (&) or alias (*)" in problem.message


@pytest.mark.parametrize(
    ("source", "line", "field"),
    [
        ("key: demo\ntitle: &t Demo\n", 2, "title"),
        ("key: demo\nitems:\n  - &first {key: a}\n", 3, "items[1]"),
        ("key: &k demo\ntitle: *k\n", 1, "key"),
    ],
    ids=["anchor", "anchor-on-mapping", "anchor-and-alias"],
)
def test_any_anchor_or_alias_is_refused(source: str, line: int, field: str) -> None:
    problem = only_problem(source)

    assert (problem.line, problem.field) == (line, field)
    assert "anchor (&) or alias (*)" in problem.message


@pytest.mark.parametrize(
    "payload",
    [
        "!!python/object/apply:os.system ['touch {canary}']",
        "!!python/object/apply:subprocess.check_call [['touch', '{canary}']]",
        "!!python/object/new:subprocess.check_call [['touch', '{canary}']]",
        "!!python/name:os.system",
    ],
    ids=["apply-os-system", "apply-subprocess", "new-subprocess", "name"],
)
def test_python_tags_are_refused_and_nothing_runs(payload: str, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    source = tmp_path / "evil.yaml"
    source.write_text(f"key: demo\nversion: 1\ntitle: {payload.format(canary=canary)}\n")

    with pytest.raises(InstrumentError) as caught:
        load_instrument_file(source)

    assert not canary.exists()
    [problem] = caught.value.problems
    assert (problem.path, problem.line, problem.field) == ("evil.yaml", 3, "title")
    assert 'uses the tag "!!python/' in problem.message


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!include other.yaml", "!include"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!set {a}", "!!set"),
    ],
)
def test_non_standard_tags_are_refused(value: str, shown: str) -> None:
    problem = only_problem(f"key: demo\ntitle: {value}\n")

    assert (problem.line, problem.field) == (2, "title")
    assert f'uses the tag "{shown}"' in problem.message


def test_file_over_the_cap_is_refused_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:  # sparse: 50 MB of NUL bytes, which YAML would reject
        handle.truncate(50 * 1024 * 1024)

    started = time.perf_counter()
    with pytest.raises(InstrumentError) as caught:
        load_instrument_file(huge)

    assert time.perf_counter() - started < 0.5
    [problem] = caught.value.problems
    assert (problem.path, problem.line, problem.field) == ("huge.yaml", None, "(file)")
    assert problem.message.startswith("is 52,428,800 bytes or more; files are limited to")


def test_one_byte_over_the_cap_is_refused_and_the_cap_itself_is_not(tmp_path: Path) -> None:
    at_cap = BASE + "#" * (MAX_BYTES - len(BASE))
    assert len(at_cap.encode()) == MAX_BYTES
    assert load_instrument_text(at_cap).key == "demo"

    problem = only_problem(at_cap + "#")
    assert problem.field == "(file)"
    assert "1,048,576 bytes (1 MiB)" in problem.message

    over = tmp_path / "over.yaml"
    over.write_text(at_cap + "#")
    with pytest.raises(InstrumentError, match="limited to 1,048,576 bytes"):
        load_instrument_file(over)


@pytest.mark.parametrize("kind", [str, bytes])
def test_huge_text_is_refused_fast(kind: type) -> None:
    text = "a" * (50 * 1024 * 1024)
    huge = text if kind is str else text.encode()

    started = time.perf_counter()
    problem = only_problem(huge)

    assert time.perf_counter() - started < 0.5
    assert "files are limited to 1,048,576 bytes" in problem.message


def test_multibyte_text_is_measured_in_bytes() -> None:
    problem = only_problem("title: " + "示" * (MAX_BYTES // 3 + 10))
    assert problem.message.startswith("is 1,048,6")


@pytest.mark.parametrize(
    "source",
    ["key: " + "[" * 10_000 + "]" * 10_000, "key: " + "{a: " * 10_000 + "}" * 10_000],
    ids=["lists", "mappings"],
)
def test_deep_nesting_is_refused_without_recursion(source: str) -> None:
    started = time.perf_counter()
    problem = only_problem(source)

    assert time.perf_counter() - started < 1.0
    assert problem.line == 1
    assert problem.field.startswith("key")
    assert problem.message == "is nested more than 12 levels deep"


def test_ten_thousand_items_are_refused_fast() -> None:
    header = "key: demo\nversion: 1\ntitle: Demo\nitems:\n"
    items = "".join(f"  - {{key: q{n}, text: Q, measures: [text]}}\n" for n in range(10_001))

    started = time.perf_counter()
    problem = only_problem(header + items)

    assert time.perf_counter() - started < 1.0
    assert (problem.line, problem.field) == (1005, "items")
    assert problem.message == "lists more than 1,000 entries"


def test_more_items_than_the_schema_allows_are_refused() -> None:
    header = "key: demo\nversion: 1\ntitle: Demo\nitems:\n"
    items = "".join(f"  - {{key: q{n}, text: Q, measures: [text]}}\n" for n in range(501))

    problem = only_problem(header + items)

    assert (problem.line, problem.field) == (4, "items")
    assert problem.message == "lists 501 entries; at most 500 are allowed"


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    source = BASE.replace("title: Demo\n", "title: Demo\ntitle: Demo again\n").replace(
        "scale: agree7}\n  - {key: emp_1", "scale: agree7, scale: sat5}\n  - {key: emp_1"
    )
    problems = problems_of(source)

    assert [(p.line, p.field) for p in problems] == [(4, "title"), (12, "items[1].scale")]
    assert problems[0].message.startswith("appears twice in the same mapping (first on line 3)")
    assert "YAML would silently keep only the last one" in problems[0].message


@pytest.mark.parametrize(
    ("source", "line", "field", "message"),
    [
        ("", 1, "(file)", "is empty; an instrument needs at least key, version, title and items"),
        ("# only a comment\n", 1, "(file)", "is empty"),
        ("- a\n- b\n", 1, "(top level)", "must be a mapping (name: value lines); got a list"),
        ("key: [demo\n", 2, "(syntax)", "is not valid YAML: did not find expected ',' or ']'"),
        ("key: demo\n\tversion: 1\n", 2, "(syntax)", "(indent with spaces, not tabs)"),
        ("key: demo\n---\nkey: other\n", 2, "(top level)", "holds more than one YAML document"),
        ("key: demo\ntitle: a\x07b\n", 2, "(syntax)", "control characters are not allowed"),
        ("? [a, b]\n: c\n", 1, "(top level)", "uses a list or mapping as a key"),
    ],
    ids=["empty", "comment", "list", "syntax", "tab", "two-documents", "control", "complex-key"],
)
def test_unreadable_files_name_the_line(source: str, line: int, field: str, message: str) -> None:
    problem = only_problem(source)

    assert (problem.line, problem.field) == (line, field)
    assert message in problem.message


def test_bytes_must_be_utf8() -> None:
    problem = only_problem(b"key: demo\ntitle: caf\xe9\n")

    assert (problem.line, problem.field) == (2, "(file)")
    assert problem.message == "is not UTF-8 text (byte 21 cannot be read); save it as UTF-8"
    assert load_instrument_text(("\ufeff" + BASE).encode()).key == "demo"


def test_messages_truncate_what_they_quote() -> None:
    payload = "<script>alert(1)</script>" * 40  # a plain YAML key is at most 1024 characters
    problems = problems_of(BASE.replace("version: 1", f"version: {payload}") + f"{payload}: x\n")

    assert len(problems) == 2
    for problem in problems:
        assert len(str(problem)) < 300
        assert "…" in str(problem)
        assert payload not in str(problem)


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(InstrumentError) as caught:
        load_instrument_file(tmp_path / "absent.yaml")

    [problem] = caught.value.problems
    assert (problem.path, problem.field) == ("absent.yaml", "(file)")
    assert problem.message.startswith("cannot be read")


# Schema problems ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        (
            "  sat5: {points: 5}",
            "  sat5: {points: 5, colour: red}",
            6,
            "scales.sat5.colour",
            "unknown field; the fields allowed here are points, min, max, labels, not_applicable",
        ),
        ("version: 1", "version: one", 2, "version", 'must be a whole number from 1 up; got "one"'),
        ("version: 1", "version: 0", 2, "version", "must be at least 1; got 0"),
        ("key: demo", "key: Demo Survey", 1, "key", '"Demo Survey" is not a key of lower-case'),
        ("title: Demo", "title: [Demo]", 3, "title", "must be text, or a mapping from language"),
        ("title: Demo", "title: ''", 3, "title", "must not be empty"),
        (
            "not_applicable: true",
            "not_applicable: sometimes",
            5,
            "scales.agree7.not_applicable",
            'must be true or false; got "sometimes"',
        ),
        (
            "{1: Disagree",
            "{one: Disagree",
            5,
            "scales.agree7.labels.one",
            '"one" is not allowed here: use a point of the scale (a whole number)',
        ),
        (
            "measures: [expectation, perception], scale: agree7}\n  - {key: emp_1",
            "measures: [expectation, perceptions], scale: agree7}\n  - {key: emp_1",
            11,
            "items[1].measures[2]",
            "must be one of expectation, perception, importance, rating, nps, ces, choice, text;"
            ' got "perceptions"',
        ),
        (
            "measures: [expectation, perception], scale: agree7}\n  - {key: emp_1",
            "measures: [expectation, expectation], scale: agree7}\n  - {key: emp_1",
            11,
            "items[1].measures",
            "lists the same value more than once",
        ),
        ("text: Cares, ", "", 12, "items[2].text", "is missing; it is required here"),
        (
            "text: Cares, ",
            "text: Cares, colour: red, ",
            12,
            "items[2].colour",
            "unknown field; the fields allowed here are key, dimension, text, help, measures",
        ),
        (
            "text: Cares, ",
            "text: Cares, reverse: yes, ",
            12,
            "items[2].reverse",
            'must be true or false; got "yes"',
        ),
        (
            "text: Cares, ",
            "text: Cares, how are you, ",
            12,
            "items[2].how are you",
            "(a comma inside {...} starts a new field: put such text in quotes)",
        ),
    ],
    ids=[
        "unknown-scale-field",
        "version-word",
        "version-zero",
        "key-pattern",
        "text-list",
        "text-empty",
        "boolean",
        "label-point",
        "measure-name",
        "measure-twice",
        "missing-text",
        "unknown-item-field",
        "yes-is-not-true",
        "unquoted-comma",
    ],
)
def test_schema_problems_name_line_and_field(
    old: str, new: str, line: int, field: str, message: str
) -> None:
    assert old in BASE
    problem = only_problem(BASE.replace(old, new, 1))

    assert (problem.path, problem.line, problem.field) == ("demo.yaml", line, field)
    assert message in problem.message


def test_text_longer_than_the_limit_is_refused() -> None:
    problem = only_problem(BASE.replace("title: Demo", "title: " + "x" * 5001))

    assert (problem.line, problem.field) == (3, "title")
    assert problem.message == "is 5,001 characters long; at most 5,000 are allowed"


def test_published_schema_is_valid_and_closed() -> None:
    schema = instrument_schema()
    Draft202012Validator.check_schema(schema)

    def objects(node: object) -> list[dict[str, object]]:
        if isinstance(node, dict):
            found = [node] if node.get("type") == "object" else []
            return found + [o for value in node.values() for o in objects(value)]
        if isinstance(node, list):
            return [o for value in node for o in objects(value)]
        return []

    assert len(objects(schema)) >= 10
    for node in objects(schema):
        assert "additionalProperties" in node, node.get("description")
        if "properties" in node:
            assert node["additionalProperties"] is False, node.get("description")

    schema["title"] = "changed"
    assert instrument_schema()["title"] == "Gapmeter instrument"


# Semantic problems -------------------------------------------------------------------------------
def item(fields: str) -> str:
    return f"  - {{{fields}}}\n"


SEMANTIC_CASES = [
    (
        item("key: x, text: X, measures: [rating], scale: agree5"),
        13,
        "items[3].scale",
        'unknown scale "agree5" (did you mean "agree7"?); declared scales are agree7, sat5',
    ),
    (
        item("key: x, dimension: reliabilty, text: X, measures: [rating], scale: agree7"),
        13,
        "items[3].dimension",
        'unknown dimension "reliabilty" (did you mean "reliability"?); declared dimensions are '
        "empathy, reliability",
    ),
    (
        item("key: rel_1, text: X, measures: [rating], scale: sat5"),
        13,
        "items[3].key",
        '"rel_1" is already the key of items[1] (line 11); keys must be unique',
    ),
    (
        item("key: empathy, text: X, measures: [rating], scale: sat5"),
        13,
        "items[3].key",
        '"empathy" is also a dimension key; item and dimension keys must differ',
    ),
    (
        item("key: x, text: X, measures: [rating, nps], scale: sat5"),
        13,
        "items[3].measures",
        "rating, nps must be asked alone; only expectation, perception and importance may be "
        "asked together",
    ),
    (
        item("key: x, text: X, measures: [perception, choice], scale: sat5"),
        13,
        "items[3].measures",
        "choice must be asked alone",
    ),
    (
        item("key: x, text: X, measures: [expectation, perception]"),
        13,
        "items[3].scale",
        "is missing: expectation, perception need a scale; declared scales are agree7, sat5",
    ),
    (
        item("key: x, text: X, measures: [ces]"),
        13,
        "items[3].scale",
        "is missing: ces need a scale",
    ),
    (
        item("key: x, text: X, measures: [nps], scale: sat5"),
        13,
        "items[3].scale",
        "an nps item always uses the 0 to 10 scale; remove scale",
    ),
    (
        item("key: x, text: X, measures: [text], scale: sat5"),
        13,
        "items[3].scale",
        "a text item has no scale; remove scale",
    ),
    (
        item("key: x, text: X, measures: [choice]"),
        13,
        "items[3].options",
        "is missing: a choice item needs options",
    ),
    (
        item(
            "key: x, text: X, measures: [rating], scale: sat5, options: [{key: a, label: A}, "
            "{key: b, label: B}]"
        ),
        13,
        "items[3].options",
        "only choice items have options; remove them",
    ),
    (
        "  - key: x\n    text: X\n    measures: [choice]\n    options:\n"
        "      - {key: a, label: A}\n      - {key: a, label: Again}\n",
        18,
        "items[3].options[2].key",
        '"a" is already the key of items[3].options[1]; option keys must be unique',
    ),
    (
        item("key: x, text: X, measures: [rating], scale: agree7, score: csat"),
        13,
        "items[3].score",
        "score csat needs a single rating on a 5-point scale; this item asks rating on scale "
        "agree7 (7 points)",
    ),
    (
        item("key: x, text: X, measures: [rating], scale: sat5, score: nps"),
        13,
        "items[3].score",
        "score nps needs the single measure nps; this item asks rating on scale sat5 (5 points)",
    ),
    (
        item("key: x, text: X, measures: [nps], score: ces"),
        13,
        "items[3].score",
        "score ces needs the single measure ces; this item asks nps",
    ),
    (
        item("key: x, text: X, measures: [rating], scale: sat5, classifies: segment"),
        13,
        "items[3].classifies",
        "classifies: segment needs a choice item (measures: [choice])",
    ),
    (
        "  - key: x\n    text: X\n    measures: [choice]\n    classifies: segment\n    options:\n"
        "      - {key: a, label: A, segment: consumer}\n      - {key: b, label: B}\n",
        19,
        "items[3].options[2]",
        "is missing segment: each option of a classifying item names its segment",
    ),
    (
        "  - key: x\n    text: X\n    measures: [choice]\n    options:\n"
        "      - {key: a, label: A, segment: consumer}\n      - {key: b, label: B}\n",
        16,
        "items[3].options",
        "options name segments, but the item does not say classifies: segment",
    ),
    (
        item("key: x, text: X, measures: [text], reverse: true"),
        13,
        "items[3].reverse",
        "only items answered on a scale (not nps) can be reverse-keyed",
    ),
    (
        item("key: x, text: X, measures: [rating], scale: sat5, max_length: 20"),
        13,
        "items[3].max_length",
        "applies to text items only; remove it",
    ),
    (
        item("key: a, text: A, measures: [rating], scale: sat5, score: csat")
        + item("key: b, text: B, measures: [rating], scale: sat5, score: csat"),
        14,
        "items[4].score",
        "items[3] already has score: csat; only one item may",
    ),
    (
        "dimensions2: x\n",
        13,
        "dimensions2",
        "unknown field",
    ),
    (
        "sections:\n  - {key: one, items: [rel_1, emp_1, ghost]}\n",
        14,
        "sections[1].items[3]",
        'unknown item "ghost"; declared items are emp_1, rel_1',
    ),
    (
        "sections:\n  - {key: one, items: [rel_1, emp_1]}\n  - {key: two, items: [emp_1]}\n",
        15,
        "sections[2].items[1]",
        'item "emp_1" is already on page sections[1] (line 14); an item appears on one page only',
    ),
    (
        "sections:\n  - {key: one, items: [rel_1]}\n",
        12,
        "items[2]",
        'item "emp_1" is on no page; add it to a section',
    ),
    (
        "sections:\n  - {key: one, items: [rel_1]}\n  - {key: one, items: [emp_1]}\n",
        15,
        "sections[2].key",
        '"one" is already the key of sections[1] (line 14); keys must be unique',
    ),
    (
        "importance: {method: item}\n",
        13,
        "importance.method",
        "method item needs items that ask importance",
    ),
    (
        item("key: x, text: X, measures: [importance], scale: sat5")
        + "importance: {method: item, total: 100}\n",
        14,
        "importance.total",
        "applies to a points allocation only (method: points)",
    ),
    (
        item("key: x, text: X, measures: [importance], scale: sat5")
        + "importance: {method: points}\n",
        13,
        "items[3].measures",
        "importance is asked by the points allocation",
    ),
    (
        "targets:\n  - {key: t, metric: dimension_gap, subject: tangibles, threshold: -0.5, "
        "direction: at_least}\n",
        14,
        "targets[1].subject",
        '"tangibles" is not a dimension whose items ask expectation and perception '
        "(possible: reliability, empathy)",
    ),
    (
        "targets:\n  - {key: t, metric: item_gap, threshold: -0.5, direction: at_least}\n",
        14,
        "targets[1].subject",
        "is missing: item_gap needs an item asking expectation and perception "
        "(possible: rel_1, emp_1)",
    ),
    (
        "targets:\n  - {key: t, metric: nps, threshold: 20, direction: at_least}\n",
        14,
        "targets[1].metric",
        "nps needs an item asking nps; this instrument has none",
    ),
    (
        "targets:\n  - {key: t, metric: rating_mean, subject: rel_1, threshold: 4, "
        "direction: at_least}\n",
        14,
        "targets[1].subject",
        '"rel_1" is not an item asking a rating (this instrument has none)',
    ),
    (
        item("key: x, text: X, measures: [rating], scale: sat5, score: csat")
        + "targets:\n  - {key: t, metric: csat_top2, threshold: 60, direction: at_least}\n",
        15,
        "targets[1].threshold",
        "60 is outside the possible values of csat_top2, 0 to 1 (a share: 0.6 means 60%)",
    ),
    (
        "targets:\n  - {key: t, metric: dimension_gap, subject: empathy, threshold: -7, "
        "direction: at_least}\n",
        14,
        "targets[1].threshold",
        "-7 is outside the possible values of dimension_gap, -6 to 6",
    ),
]


@pytest.mark.parametrize(
    ("extra", "line", "field", "message"),
    SEMANTIC_CASES,
    ids=[
        "unknown-scale",
        "unknown-dimension",
        "duplicate-item",
        "item-is-dimension",
        "rating-with-nps",
        "choice-with-perception",
        "gap-without-scale",
        "ces-without-scale",
        "nps-with-scale",
        "text-with-scale",
        "choice-without-options",
        "options-on-rating",
        "duplicate-option",
        "csat-on-7-points",
        "nps-score-on-rating",
        "ces-score-on-nps",
        "classifies-rating",
        "classifying-option-without-segment",
        "segments-without-classifies",
        "reverse-text",
        "max-length-rating",
        "two-csat-items",
        "unknown-top-level",
        "section-unknown-item",
        "item-on-two-pages",
        "item-on-no-page",
        "duplicate-section",
        "importance-item-without-items",
        "importance-item-with-total",
        "importance-twice",
        "target-unknown-dimension",
        "target-missing-subject",
        "target-without-nps-item",
        "target-rating-on-gap-item",
        "target-csat-as-percent",
        "target-gap-out-of-range",
    ],
)
def test_semantic_problems_name_line_and_field(
    extra: str, line: int, field: str, message: str
) -> None:
    problem = only_problem(BASE + extra)

    assert (problem.line, problem.field) == (line, field)
    assert message in problem.message, problem.message


@pytest.mark.parametrize(
    ("scale", "field", "message"),
    [
        ("{points: 5, min: 1}", "scales.sat5.points", "give either points or min and max"),
        ("{labels: {1: Low}}", "scales.sat5", "is missing its points (e.g. points: 5)"),
        ("{min: 1}", "scales.sat5.max", "is missing; give both min and max"),
        ("{min: 5, max: 1}", "scales.sat5.max", "must be greater than min (5); got 1"),
        ("{points: 5, labels: {0: None}}", "scales.sat5.labels.0", "point 0 is outside"),
        ("{points: 5, labels: {1: A, 01: B}}", "scales.sat5.labels.01", "labels point 1 again"),
    ],
)
def test_scale_problems(scale: str, field: str, message: str) -> None:
    problem = only_problem(BASE.replace("{points: 5}", scale))

    assert (problem.line, problem.field) == (6, field)
    assert message in problem.message


def test_points_allocation_needs_two_dimensions() -> None:
    source = yaml("""
        key: demo
        version: 1
        title: Demo
        items:
          - {key: comment, text: Say, measures: [text]}
        importance: {method: points}
    """)
    problem = only_problem(source)

    assert (problem.line, problem.field) == (6, "importance.method")
    assert "needs at least two; no dimensions are declared" in problem.message


def test_dimension_without_items_is_refused() -> None:
    problem = only_problem(BASE.replace("dimensions:\n", "dimensions:\n  - {key: x, label: X}\n"))

    assert (problem.line, problem.field) == (8, "dimensions[1]")
    assert problem.message.startswith('dimension "x" has no items')


def test_every_text_needs_every_language() -> None:
    source = yaml("""
        key: demo
        version: 1
        title: Demo
        languages: [en, zh-Hant]
        scales:
          sat5: {points: 5, labels: {1: {en: Low, zh-Hant: 低}, 5: {en: High}}}
        items:
          - key: overall
            text: {en: Overall, zh-Hant: 整體, fr: Global}
            measures: [rating]
            scale: sat5
    """)
    problems = problems_of(source)

    assert [(p.line, p.field, p.message) for p in problems] == [
        (
            3,
            "title",
            "is plain text, which counts as en only; give a mapping with en, zh-Hant "
            "(the languages of this instrument)",
        ),
        (6, "scales.sat5.labels.5", "has no zh-Hant text; give every language"),
        (9, "items[1].text.fr", 'language "fr" is not in languages (en, zh-Hant)'),
    ]


def test_several_problems_in_one_file_are_all_reported() -> None:
    with pytest.raises(InstrumentError) as caught:
        load_instrument_file(DATA / "invalid" / "many-problems.yaml")

    located = [(p.line, p.field) for p in caught.value.problems]
    assert located == [
        (6, "colour"),
        (8, "scales.agree7.labels.9"),
        (11, "dimensions[2].label"),
        (17, "items[1].scale"),
        (18, "items[2].key"),
        (19, "items[2].dimension"),
        (21, "items[2].measures"),
        (23, "items[3]"),
        (23, "items[3].key"),
        (23, "items[3].options"),
        (31, "items[4].score"),
        (35, "items[5].scale"),
        (36, "items[5].score"),
        (39, "sections[1].items[3]"),
        (41, "sections[2].items[1]"),
        (44, "targets[1].subject"),
        (45, "targets[2].threshold"),
    ]
    text = str(caught.value)
    assert text.splitlines()[0].startswith("many-problems.yaml:6: colour: unknown field;")
    assert len(text.splitlines()) == len(located)


def test_schema_and_semantic_problems_are_reported_together() -> None:
    source = BASE.replace("version: 1", "version: first") + item(
        "key: x, text: X, measures: [rating], scale: agree5"
    )
    problems = problems_of(source)

    assert [(p.line, p.field) for p in problems] == [(2, "version"), (13, "items[3].scale")]


def test_malformed_parts_do_not_crash_the_semantic_checks() -> None:
    source = yaml("""
        key: demo
        version: 1
        title: Demo
        scales: {sat5: [1, 2], agree: {points: [7]}}
        dimensions: [reliability, {key: [x], label: X}]
        items:
          - rel_1
          - {key: a, dimension: [x], text: A, measures: rating, scale: {x: 1}, score: [csat]}
          - {key: b, text: B, measures: [choice], options: [a, {key: [b]}], classifies: [x]}
        sections: [{key: s, items: [a, [b]]}, page]
        importance: {method: [points]}
        targets: [{key: t, metric: [nps], subject: [a], threshold: high, direction: up}]
    """)
    problems = problems_of(source)

    assert len(problems) >= 15
    assert all(p.line is not None for p in problems)


# Canonical JSON ----------------------------------------------------------------------------------
def test_json_is_checked_like_a_file() -> None:
    data = load_instrument_text(BASE).to_json()
    data["items"][0]["scale"] = "agree5"
    data["colour"] = "red"

    with pytest.raises(InstrumentError) as caught:
        instrument_from_json(data)

    assert [(p.path, p.line, p.field) for p in caught.value.problems] == [
        ("<json>", None, "colour"),
        ("<json>", None, "items[1].scale"),
    ]
    assert str(caught.value).startswith("<json>:?: colour: unknown field")


def test_json_with_non_finite_numbers_is_refused() -> None:
    data = load_instrument_text(BASE).to_json()
    data["version"] = float("nan")

    with pytest.raises(InstrumentError, match="is not plain JSON"):
        instrument_from_json(data)


def test_json_measures_are_plain_strings() -> None:
    data = load_instrument_text(BASE).to_json()

    assert data["items"][0]["measures"] == ["expectation", "perception"]
    assert type(data["items"][0]["measures"][0]) is str
    assert instrument_from_json(data).item("rel_1").measures == (
        Measure.EXPECTATION,
        Measure.PERCEPTION,
    )


def test_the_documented_example_loads() -> None:
    """docs/instruments.md's first example is a valid instrument."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "instruments.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]

    instrument = load_instrument_text(example, "instruments.md")

    assert instrument.key == "branch-visit"
    assert [slot.name for slot in instrument.slots()] == [
        "rel_promise__expectation",
        "rel_promise__perception",
        "overall",
        "recommend",
    ]
