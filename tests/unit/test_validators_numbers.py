from __future__ import annotations

import pytest

from bot.i18n import LANGUAGES
from handlers.validators import Invalid, parse_follower_count
from handlers.validators.numbers import (
    AMBIGUOUS_COUNT,
    COUNT_TOO_LARGE,
    FRACTIONAL_COUNT,
    MAX_FOLLOWERS,
    NEGATIVE_COUNT,
    NOT_A_COUNT,
    AmbiguousCount,
)

NBSP = "\u00a0"
NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0", 0),
        ("7", 7),
        ("12000", 12000),
        ("  12000  ", 12000),
        ("0012000", 12000),
        ("12k", 12000),
        ("12K", 12000),
        ("12 k", 12000),
        ("1.2M", 1_200_000),
        ("1.2m", 1_200_000),
        ("1,2M", 1_200_000),
        ("1,2 M", 1_200_000),
        ("12.5k", 12500),
        ("12,5k", 12500),
        ("0.5k", 500),
        ("12 345", 12345),
        (f"12{NNBSP}345", 12345),
        (f"12{NBSP}345", 12345),
        ("1 234 567", 1_234_567),
        ("12,345", 12345),
        ("12.345", 12345),
        ("1,234,567", 1_234_567),
        ("1.234.567", 1_234_567),
        ("1,234,567.00", 1_234_567),
        ("1.234.567,00", 1_234_567),
        ("1 234,5k", 1_234_500),
        ("1,234.5k", 1_234_500),
        ("12 000k", 12_000_000),
        ("2B", 2_000_000_000),
        ("1.5b", 1_500_000_000),
        ("1bn", 1_000_000_000),
        ("2000000000", MAX_FOLLOWERS),
        ("2 000 000 000", MAX_FOLLOWERS),
    ],
)
@pytest.mark.parametrize("language", LANGUAGES)
def test_parse_follower_count_in_any_language(raw: str, expected: int, language: str) -> None:
    assert parse_follower_count(raw, language) == expected


@pytest.mark.parametrize(
    ("raw", "language", "expected"),
    [
        ("12 тыс", "ru", 12000),
        ("12 тыс.", "ru", 12000),
        ("12тыс.", "ru", 12000),
        ("12,5 тыс.", "ru", 12500),
        ("12к", "ru", 12000),
        ("12К", "ru", 12000),
        ("1,5 млн", "ru", 1_500_000),
        ("1,5м", "ru", 1_500_000),
        ("1 млрд", "ru", 1_000_000_000),
        ("3 tys.", "pl", 3000),
        ("3 tys", "pl", 3000),
        ("3,5 tys.", "pl", 3500),
        ("2 mln", "pl", 2_000_000),
        ("2,5 mln.", "pl", 2_500_000),
        ("1 mld", "pl", 1_000_000_000),
        ("1,2 M", "fr", 1_200_000),
        (f"12{NNBSP}345", "fr", 12345),
        ("12.345", "es", 12345),
        ("1.234.567", "es", 1_234_567),
    ],
)
def test_parse_follower_count_local_words(raw: str, language: str, expected: int) -> None:
    assert parse_follower_count(raw, language) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Spanish
        ("12 mil", 12_000),
        ("12mil", 12_000),
        ("12,5 mil", 12_500),
        ("1,2 millones", 1_200_000),
        ("1 millón", 1_000_000),
        ("1 millon", 1_000_000),
        ("3 mill.", 3_000_000),
        ("1,5 mil millones", 1_500_000_000),
        # French
        ("12 mille", 12_000),
        ("1,2 million", 1_200_000),
        ("2 millions", 2_000_000),
        ("1 milliard", 1_000_000_000),
        ("1 Md", 1_000_000_000),
        # Russian, in full
        ("12 тысяч", 12_000),
        ("2 тысячи", 2_000),
        ("1 тысяча", 1_000),
        ("1,5 миллиона", 1_500_000),
        ("5 миллионов", 5_000_000),
        ("1 миллион", 1_000_000),
        ("1 миллиард", 1_000_000_000),
        # Polish, in full, with and without its letters
        ("1 tysiąc", 1_000),
        ("3 tysiące", 3_000),
        ("5 tysięcy", 5_000),
        ("5 tysiecy", 5_000),
        ("1 milion", 1_000_000),
        ("2 miliony", 2_000_000),
        ("5 milionów", 5_000_000),
        ("1 miliard", 1_000_000_000),
        # Polish fractions take the genitive singular: "1,5 miliona", "2,5 tysiąca"
        ("2,5 tysiąca", 2_500),
        ("1,2 miliona", 1_200_000),
        ("1,5 miliarda", 1_500_000_000),
        # English, in full
        ("12 thousand", 12_000),
        ("1.5 million", 1_500_000),
        ("2 Million", 2_000_000),
    ],
)
@pytest.mark.parametrize("language", ["ru", "fr", "es", "pl"])
def test_thousand_and_million_words_of_every_language(
    raw: str, expected: int, language: str
) -> None:
    assert parse_follower_count(raw, language) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12 thousand", 12_000),
        ("1,2 millones", 1_200_000),
        ("12 тысяч", 12_000),
        ("1 mil millones", 1_000_000_000),
    ],
)
def test_english_takes_the_words_too(raw: str, expected: int) -> None:
    assert parse_follower_count(raw, "en") == expected


@pytest.mark.parametrize(
    ("raw", "readings"),
    [("12 mil", (12_000, 12_000_000)), ("12,5 mil", (12_500, 12_500_000))],
)
def test_mil_reads_both_ways_to_english_readers(raw: str, readings: tuple[int, int]) -> None:
    # "12 mil" is twelve thousand in Spanish and twelve million in English slang.
    with pytest.raises(AmbiguousCount) as exc:
        parse_follower_count(raw, "en")
    assert exc.value.readings == readings
    assert exc.value.message == AMBIGUOUS_COUNT
    assert exc.value.params == {"thousand": readings[0], "million": readings[1]}


@pytest.mark.parametrize(
    ("raw", "followers"), [("3000 mil", 3_000_000), ("1.2345 mil", 1_234_500)]
)
def test_mil_with_one_plausible_reading_is_that_one(raw: str, followers: int) -> None:
    # Three billion is too many, and 1,234.5 no whole count: the other reading is left.
    assert parse_follower_count(raw, "en") == followers


def test_mil_is_a_thousand_in_other_languages() -> None:
    assert parse_follower_count("12 mil", "pl") == 12_000


@pytest.mark.parametrize(
    ("raw", "language"),
    [("1 billón", "es"), ("2 billones", "es"), ("1 bilion", "pl"), ("1 billion", "fr")],
)
def test_long_scale_billions_are_too_many(raw: str, language: str) -> None:
    # 10^12: a Spanish billón, a Polish bilion and a French billion.
    with pytest.raises(Invalid) as exc:
        parse_follower_count(raw, language)
    assert exc.value.message == COUNT_TOO_LARGE


def test_an_english_billion() -> None:
    assert parse_follower_count("1 billion", "en") == 1_000_000_000


@pytest.mark.parametrize(
    ("raw", "language", "expected"),
    [
        # With a suffix, "1.234k" could be 1,234 or 1,234,000: the language's decimal mark decides.
        ("1.234k", "en", 1234),
        ("1,234k", "en", 1_234_000),
        ("1.234k", "es", 1_234_000),
        ("1,234k", "es", 1234),
        ("1,234k", "ru", 1234),
        ("1,234k", "fr", 1234),
        ("1,234k", "pl", 1234),
        ("1.234k", "pl", 1_234_000),
        ("1.234k", "xx", 1234),
    ],
)
def test_parse_follower_count_ambiguous_separator_uses_language(
    raw: str, language: str, expected: int
) -> None:
    assert parse_follower_count(raw, language) == expected


def test_parse_follower_count_defaults_to_english() -> None:
    assert parse_follower_count("1.234k") == 1234


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "twelve thousand",
        "k",
        "12x",
        "12 followers",
        "12kk",
        "12 k k",
        "12.",
        ".5k",
        "12..5",
        "1,,000",
        "12. 345",
        "1 2",
        "1 23",
        "1234 567",
        "12,34,567",
        "1.234,567.8",
        "1,234.567.8",
        "1 234.567.890",
        "1.234 567",
        "+12",
        "12+",
        "~12k",
        "1e6",
        "0x10",
        "\uff11\uff12",
        "\u0661\u0662",
        "-",
        "--5",
        "- k",
    ],
)
def test_parse_follower_count_rejects_garbage(raw: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_follower_count(raw)
    assert exc.value.message == NOT_A_COUNT


@pytest.mark.parametrize("raw", ["-5", "- 5", "-12k", "\u22121,2M", "\u2013100", "-0"])
def test_parse_follower_count_rejects_negative(raw: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_follower_count(raw)
    assert exc.value.message == NEGATIVE_COUNT


@pytest.mark.parametrize(
    ("raw", "language"),
    [
        ("12.5", "en"),
        ("12,5", "ru"),
        ("1.2", "en"),
        ("1234.567", "en"),
        ("12.3456k", "en"),
        ("1,2345k", "pl"),
        ("1.0000001m", "en"),
        ("1 234,5", "fr"),
    ],
)
def test_parse_follower_count_rejects_fractions(raw: str, language: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_follower_count(raw, language)
    assert exc.value.message == FRACTIONAL_COUNT


@pytest.mark.parametrize(
    "raw", ["2000000001", "2 000 000 001", "2.1b", "3B", "2001m", "99999999999999999999999"]
)
def test_parse_follower_count_rejects_too_large(raw: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_follower_count(raw)
    assert exc.value.message == COUNT_TOO_LARGE
    assert exc.value.params == {"max": 2_000_000_000}


def test_fraction_that_resolves_to_whole_number_is_fine() -> None:
    assert parse_follower_count("12.0") == 12
    assert parse_follower_count("1.50k") == 1500
