from __future__ import annotations

import pytest

from handlers.validators import Invalid, clean_text, parse_name
from handlers.validators.text import EMPTY, INVISIBLE, NAME_NEEDS_LETTER, TOO_LONG

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
RED_HEART = "\u2764\ufe0f"
ENGLAND_FLAG = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hello", "hello"),
        ("  hello  ", "hello"),
        ("hello   world", "hello world"),
        ("line one\nline two\t\tthree\r\n", "line one line two three"),
        ("a\u00a0\u00a0b", "a b"),
        ("a\u202fb\u2009c\u3000d", "a b c d"),
        ("a\u2028b\u2029c", "a b c"),
        ("e\u0301t\u0065\u0301", "\u00e9t\u00e9"),
        ("Caf\u00e9 \U0001f600", "Caf\u00e9 \U0001f600"),
        (FAMILY, FAMILY),
        (f"I {RED_HEART} cats", f"I {RED_HEART} cats"),
        (ENGLAND_FLAG, ENGLAND_FLAG),
        ("\U0001f44d\U0001f3fd", "\U0001f44d\U0001f3fd"),
        ("\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645", None),
        ("\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd", None),
        ("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", None),
        ("Hello \u05e9\u05dc\u05d5\u05dd 123", None),
        ('O\'Brien said "hi" \u2014 \u00abok\u00bb', None),
        ("Robert'); DROP TABLE students;--", None),
        ("<b>bold</b> & <script>alert(1)</script>", None),
        ("50% off {name} ${var} %s \\n", None),
        ("\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!", None),
        ("Za\u017c\u00f3\u0142\u0107 g\u0119\u015bl\u0105 ja\u017a\u0144", None),
        ("\u4f60\u597d\u4e16\u754c", None),
    ],
)
def test_clean_text_keeps_what_people_type(raw: str, expected: str | None) -> None:
    assert clean_text(raw) == (raw if expected is None else expected)


def test_clean_text_accepts_exactly_the_limit() -> None:
    assert clean_text("a" * 200) == "a" * 200
    assert clean_text("abcde", max_length=5) == "abcde"


def test_clean_text_counts_characters_not_bytes() -> None:
    assert clean_text("\u0436" * 200) == "\u0436" * 200
    assert clean_text("\U0001f600" * 200) == "\U0001f600" * 200


def test_clean_text_counts_after_normalising() -> None:
    # 400 code points before NFC, 200 after.
    assert clean_text("e\u0301" * 200) == "\u00e9" * 200
    # Whitespace runs collapse before the length is checked.
    assert clean_text("a" + " " * 300 + "b", max_length=3) == "a b"


@pytest.mark.parametrize("raw", ["", " ", "   ", "\n", "\t\r\n ", "\u00a0\u202f\u3000"])
def test_clean_text_rejects_empty(raw: str) -> None:
    with pytest.raises(Invalid) as exc:
        clean_text(raw)
    assert exc.value.message == EMPTY
    assert exc.value.params == {}


@pytest.mark.parametrize(
    ("raw", "max_length"),
    [("a" * 201, 200), ("abcdef", 5), ("\u0436" * 11, 10), ("a b", 2)],
)
def test_clean_text_rejects_too_long(raw: str, max_length: int) -> None:
    with pytest.raises(Invalid) as exc:
        clean_text(raw, max_length=max_length)
    assert exc.value.message == TOO_LONG
    assert exc.value.params == {"max": max_length}
    assert exc.value.message.format(**exc.value.params)


def test_clean_text_default_limit_is_200() -> None:
    with pytest.raises(Invalid) as exc:
        clean_text("x" * 201)
    assert exc.value.params == {"max": 200}


@pytest.mark.parametrize(
    "raw",
    [
        "evil\u202ecod.exe",
        "\u202aleft",
        "\u202bright",
        "pop\u202c",
        "\u202doverride",
        "\u2066isolate\u2069",
        "\u2067rtl isolate",
        "\u2068first strong",
        "nul\x00byte",
        "bell\x07",
        "\x1b[31mred\x1b[0m",
        "del\x7f",
        "c1\x9b",
        "zero\u200bwidth",
        "\ufeffbom",
        "soft\u00adhyphen",
        "word\u2060joiner",
        "lone\ud800surrogate",
        "\u200b",
    ],
)
def test_clean_text_rejects_invisible_characters(raw: str) -> None:
    with pytest.raises(Invalid) as exc:
        clean_text(raw)
    assert exc.value.message == INVISIBLE


def test_clean_text_reports_invisible_before_length() -> None:
    with pytest.raises(Invalid) as exc:
        clean_text("\u202e" + "a" * 300)
    assert exc.value.message == INVISIBLE


LRM, RLM, ALM = "\u200e", "\u200f", "\u061c"
MUHAMMAD = "\u0645\u062d\u0645\u062f"
MIRIAM = "\u05de\u05e8\u05d9\u05dd"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Beside letters of their own direction, or at an end, marks change nothing: gone.
        (RLM + MUHAMMAD, MUHAMMAD),
        (MUHAMMAD + RLM, MUHAMMAD),
        (RLM + RLM + MIRIAM + RLM, MIRIAM),
        (ALM + MUHAMMAD, MUHAMMAD),
        ("Anna" + LRM, "Anna"),
        (LRM + "Anna", "Anna"),
        (f"{MUHAMMAD[:2]}{RLM}{MUHAMMAD[2:]}", MUHAMMAD),
        # Beside punctuation, digits or the other direction, they decide the display: kept.
        (MUHAMMAD + LRM, None),
        (f"{MUHAMMAD}!{RLM}", None),
        (f"Anna {RLM}(x)", None),
        (f"{MIRIAM[:1]}{LRM}{MIRIAM[1:]}", None),
        (f"{MIRIAM} 2{RLM}", None),
        (f"Anna{RLM}{MIRIAM}", None),
    ],
)
def test_clean_text_keeps_direction_marks_only_where_they_matter(
    raw: str, expected: str | None
) -> None:
    assert clean_text(raw) == (raw if expected is None else expected)


@pytest.mark.parametrize("raw", [LRM, RLM, ALM, RLM + LRM, f" {RLM} "])
def test_clean_text_marks_alone_are_empty(raw: str) -> None:
    with pytest.raises(Invalid) as exc:
        clean_text(raw)
    assert exc.value.message == EMPTY


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Anna\u3164", "Anna"),
        ("\u3164Anna  \uffa0Maria", "Anna Maria"),
        ("Anna\u115f\u1160", "Anna"),
    ],
)
def test_clean_text_reads_hangul_fillers_as_spaces(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Anna", "Anna"),
        ("  Anna   Maria ", "Anna Maria"),
        ("Анна", "Анна"),
        ("\u0622\u0646\u0627", "\u0622\u0646\u0627"),
        (MIRIAM, MIRIAM),
        ("\u674e\u5a1c", "\u674e\u5a1c"),
        ("\u30a2\u30f3\u30ca", "\u30a2\u30f3\u30ca"),
        ("\uc548\ub098", "\uc548\ub098"),
        ("\u0905\u0928\u093e", "\u0905\u0928\u093e"),
        ("Anna \U0001f484\u2728", "Anna \U0001f484\u2728"),
        ("O'Brien-Smith", "O'Brien-Smith"),
        ("Anna2", "Anna2"),
        ("J.", "J."),
        (RLM + MUHAMMAD, MUHAMMAD),
        (MUHAMMAD + " " + RLM + "(x)", None),
    ],
)
def test_parse_name_takes_a_letter_in_any_script(raw: str, expected: str | None) -> None:
    assert parse_name(raw) == (raw if expected is None else expected)


@pytest.mark.parametrize(
    "raw",
    [
        "-",
        "...",
        "?!",
        "\U0001f484",
        "\U0001f484\u2728",
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",
        "\u2764\ufe0f",
        "123",
        "12:30",
        "\u2800",
        "",
        "   ",
        "\n\t",
        "\u3164",
        "\u3164 \uffa0",
        RLM,
        f"{LRM} {RLM}",
    ],
)
def test_parse_name_without_a_letter_is_refused_with_one_message(raw: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_name(raw)
    assert exc.value.message == NAME_NEEDS_LETTER
    assert exc.value.params == {}


@pytest.mark.parametrize(
    ("raw", "message"), [("a" * 201, TOO_LONG), ("Anna\u202eevil", INVISIBLE)]
)
def test_parse_name_keeps_the_text_rules(raw: str, message: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_name(raw)
    assert exc.value.message == message
