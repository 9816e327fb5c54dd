"""Babel formatting per language: numbers, money from minor units, local times, plurals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.i18n import normalize_language, translator

FOLLOWERS = ("{network} @{handle}: {n} follower", "{network} @{handle}: {n} followers")


@pytest.mark.parametrize(
    ("language", "amount_minor", "currency", "expected"),
    [
        ("en", 123456, "USD", "$1,234.56"),
        ("pl", 123456, "PLN", "1\xa0234,56\xa0zł"),
        ("ru", 5, "RUB", "0,05\xa0₽"),
        ("fr", 100, "JPY", "100\xa0JPY"),
        ("es", 10**17 + 1, "EUR", "1.000.000.000.000.000,01\xa0€"),
    ],
)
def test_money_from_integer_minor_units(
    language: str, amount_minor: int, currency: str, expected: str
) -> None:
    assert translator(language).money(amount_minor, currency) == expected


def test_times_are_shown_in_the_persons_zone() -> None:
    moment = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    assert translator("en").datetime(moment, "Europe/Warsaw") == "Nov 26, 2026, 12:30\u202fAM"
    assert translator("ru").datetime(moment, "America/New_York").startswith("25 нояб. 2026")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Jan 7, 2027, 6:00\u202fPM"),
        ("ru", "7 янв. 2027\u202fг., 18:00"),
        ("fr", "7 janv. 2027, 18:00"),
        ("es", "7 ene 2027, 18:00"),
        ("pl", "7 sty 2027, 18:00"),
    ],
)
def test_times_are_shown_to_the_minute(language: str, expected: str) -> None:
    """A deadline is a minute people aim for: no seconds, in any language."""
    moment = datetime(2027, 1, 7, 17, 0, tzinfo=UTC)
    assert translator(language).datetime(moment, "Europe/Warsaw") == expected


@pytest.mark.parametrize(
    ("language", "count", "expected"),
    [
        ("en", 1, "X @a: 1 follower"),
        ("en", 2, "X @a: 2 followers"),
        ("ru", 1, "X @a: 1 подписчик"),
        ("ru", 3, "X @a: 3 подписчика"),
        ("ru", 11, "X @a: 11 подписчиков"),
        ("pl", 22, "X @a: 22 obserwujących"),
    ],
)
def test_plurals(language: str, count: int, expected: str) -> None:
    assert translator(language).ngettext(*FOLLOWERS, count, network="X", handle="a") == expected


@pytest.mark.parametrize(
    ("hint", "expected"),
    [("es-ES", "es"), ("pt-BR", None), ("RU", "ru"), ("pl_PL", "pl"), ("", None), (None, None)],
)
def test_platform_language_hints(hint: str | None, expected: str | None) -> None:
    assert normalize_language(hint) == expected


def test_unknown_language_falls_back_to_english() -> None:
    assert translator("xx").language == "en"
