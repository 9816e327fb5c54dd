"""Campaign fields as admins type them: commission, places, topics, slots, deadline, link."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.campaign_cli import parse_file
from handlers.validators import campaign as fields
from handlers.validators.errors import Invalid
from storage.models import Commission, NewCampaign

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12.5%", Commission.percent(1250)),
        ("12,5 %", Commission.percent(1250)),
        ("100%", Commission.percent(10_000)),
        ("0.01%", Commission.percent(1)),
        ("25 EUR", Commission.fixed(2500, "EUR")),
        ("eur 25", Commission.fixed(2500, "EUR")),
        ("€25", Commission.fixed(2500, "EUR")),
        ("25,50 €", Commission.fixed(2550, "EUR")),
        ("1 000 PLN", Commission.fixed(100_000, "PLN")),
        ("1.000,50 EUR", Commission.fixed(100_050, "EUR")),
        ("100 zł", Commission.fixed(10_000, "PLN")),
        ("1500 JPY", Commission.fixed(1500, "JPY")),
        ("2.5 KWD", Commission.fixed(2500, "KWD")),
        # Three digits after a lone mark group thousands, as in follower counts.
        ("1.255 EUR", Commission.fixed(125_500, "EUR")),
    ],
)
def test_commissions_in_minor_units_by_the_currencys_digits(
    typed: str, expected: Commission
) -> None:
    assert fields.parse_commission(typed) == expected


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("a lot", fields.COMMISSION_FORMAT),
        ("25", fields.COMMISSION_FORMAT),
        ("EUR 25 EUR", fields.COMMISSION_FORMAT),
        ("0%", fields.PERCENT_RANGE),
        ("101%", fields.PERCENT_RANGE),
        ("12.125%", fields.PERCENT_PRECISION),
        ("25 XYZ", fields.UNKNOWN_CURRENCY),
        ("$25", fields.UNKNOWN_CURRENCY),
        ("12.5 JPY", fields.AMOUNT_NO_DECIMALS),
        ("0 EUR", fields.AMOUNT_RANGE),
        ("2000000 EUR", fields.AMOUNT_RANGE),
        ("1,2345 EUR", fields.AMOUNT_PRECISION),
    ],
)
def test_commissions_refused_with_a_reason(typed: str, message: str) -> None:
    with pytest.raises(Invalid) as raised:
        fields.parse_commission(typed)
    assert raised.value.message == message


def test_countries_any_language_and_all() -> None:
    assert fields.parse_countries("Polska, Germany; fr", "en") == ("DE", "FR", "PL")
    assert fields.parse_countries(["Allemagne", "DE"], "fr") == ("DE",)
    assert fields.parse_countries("all", "en") == ()
    assert fields.parse_countries("wszystkie", "pl") == ()
    with pytest.raises(Invalid) as raised:
        fields.parse_countries("Polsak", "en")
    assert raised.value.params == {"typed": "Polsak", "country": "Poland"}
    with pytest.raises(Invalid) as raised:
        fields.parse_countries("Atlantis, PL", "en")
    assert (raised.value.message, raised.value.params) == (
        fields.COUNTRY_IN_LIST,
        {"typed": "Atlantis"},
    )
    with pytest.raises(Invalid):
        fields.parse_countries(" , ", "en")


def test_niches_by_key_or_label_in_catalog_order() -> None:
    assert fields.parse_niches(["sports", "fashion"]) == ("fashion", "sports")
    assert fields.parse_niches("Moda, tech", {"Moda": "fashion"}) == ("fashion", "tech")
    assert fields.parse_niches("all") == ()
    with pytest.raises(Invalid) as raised:
        fields.parse_niches("knitting")
    assert raised.value.params == {"topic": "knitting"}


@pytest.mark.parametrize(("typed", "slots"), [("50", 50), (" 1 000 ", 1000), (7, 7)])
def test_slots(typed: str | int, slots: int) -> None:
    assert fields.parse_slots(typed) == slots


@pytest.mark.parametrize("typed", ["0", "-3", "100001", "many", "2.5"])
def test_slots_refused(typed: str) -> None:
    with pytest.raises(Invalid):
        fields.parse_slots(typed)


def test_deadlines_are_local_times_stored_in_utc() -> None:
    warsaw = ZoneInfo("Europe/Warsaw")
    expected = datetime(2026, 12, 24, 18, 0, tzinfo=warsaw).astimezone(UTC)
    for typed in ("2026-12-24 18:00", "24.12.2026 18:00", "24/12/2026  18:00"):
        assert fields.parse_deadline(typed, "Europe/Warsaw", NOW) == expected
    end_of_day = datetime(2026, 12, 24, 23, 59, tzinfo=warsaw).astimezone(UTC)
    assert fields.parse_deadline("24.12.2026", "Europe/Warsaw", NOW) == end_of_day
    offset = datetime(2026, 12, 24, 18, 0, tzinfo=UTC)
    assert fields.parse_deadline(offset, "Europe/Warsaw", NOW) == offset
    for typed, message in [
        ("2026-11-30 12:59", fields.DEADLINE_PAST),  # 11:59 UTC
        ("2028-01-01 10:00", fields.DEADLINE_FAR),
        ("next week", fields.DEADLINE_FORMAT),
        ("31.02.2027 10:00", fields.DEADLINE_FORMAT),
    ]:
        with pytest.raises(Invalid) as raised:
            fields.parse_deadline(typed, "Europe/Warsaw", NOW)
        assert raised.value.message == message
    assert fields.parse_deadline("2026-11-30 13:01", "Europe/Warsaw", NOW) == NOW + timedelta(
        minutes=1
    )


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("http://shop.example", fields.URL_HTTPS),
        ("shop.example/sale", fields.URL_HTTPS),
        ("ftp://shop.example", fields.URL_HTTPS),
        ("hello", fields.URL_INVALID),
        ("https://localhost/x", fields.URL_INVALID),
        ("https://shop.example/a b", fields.URL_INVALID),
        ("https://user:pw@shop.example/", fields.URL_INVALID),
        ("https://shop.example/" + "a" * 2000, fields.URL_INVALID),
    ],
)
def test_landing_pages_are_https_links(typed: str, message: str) -> None:
    with pytest.raises(Invalid) as raised:
        fields.parse_landing_url(typed)
    assert raised.value.message == message


def test_a_landing_page_is_kept_as_typed() -> None:
    url = "https://shop.example/sale?utm=kol&x=1#top"
    assert fields.parse_landing_url(f"  {url} ") == url


def test_a_brief_keeps_its_lines_and_its_limit() -> None:
    assert fields.parse_brief("  Show the boots\n\n\n in snow.  ") == "Show the boots\n\nin snow."
    assert len(fields.parse_brief("x" * 1000)) == 1000
    with pytest.raises(Invalid):
        fields.parse_brief("x" * 1001)
    with pytest.raises(Invalid):
        fields.parse_brief(" \n ")
    with pytest.raises(Invalid):
        fields.parse_brief("Show \u202eevil")


def test_a_campaign_file_takes_a_toml_date_as_that_day_s_end() -> None:
    """``deadline = 2026-12-24`` is how TOML writes a date: it means 23:59 that day, as the
    same date in quotes does."""
    text = """
brand = "Acme"
title = "Boots"
brief = "Snow."
commission = "10%"
slots = 5
timezone = "Europe/Warsaw"
deadline = 2026-12-24
landing_url = "https://acme.example/boots"
"""
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    parsed = parse_file(tomllib.loads(text), 1, now)
    assert isinstance(parsed, NewCampaign), parsed
    assert parsed.deadline == datetime(2026, 12, 24, 22, 59, tzinfo=UTC)
