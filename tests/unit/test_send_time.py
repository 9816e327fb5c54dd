"""When a new offer may reach a person: quiet hours and the daily digest, in their zone."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services.publishing import send_time
from storage.models import AlertSettings

WARSAW_NOON = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # 12:00 in Warsaw


def test_an_instant_offer_goes_at_once_outside_quiet_hours() -> None:
    alerts = AlertSettings(person_id=1)
    assert send_time(alerts, "Europe/Warsaw", WARSAW_NOON) == WARSAW_NOON


def test_quiet_hours_across_midnight_hold_an_offer_until_they_end() -> None:
    alerts = AlertSettings(person_id=1)  # 22:00 to 08:00
    late = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)  # 23:30 in Warsaw
    early = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)  # 06:00 in Warsaw
    morning = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # 08:00 in Warsaw
    assert send_time(alerts, "Europe/Warsaw", late) == morning
    assert send_time(alerts, "Europe/Warsaw", early) == morning


def test_a_digest_waits_for_its_hour_and_never_sends_in_quiet_hours() -> None:
    at_nine = AlertSettings(person_id=1, mode="digest", digest_hour=9)
    tomorrow_nine = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert send_time(at_nine, "Europe/Warsaw", WARSAW_NOON) == tomorrow_nine
    at_six = AlertSettings(person_id=1, mode="digest", digest_hour=6)
    # 06:00 is inside the quiet hours: it goes when they end, at 08:00.
    assert send_time(at_six, "Europe/Warsaw", WARSAW_NOON) == datetime(
        2026, 12, 2, 7, 0, tzinfo=UTC
    )


def test_no_quiet_hours_when_start_equals_end() -> None:
    alerts = AlertSettings(person_id=1, quiet_start=0, quiet_end=0)
    late = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)
    assert send_time(alerts, "Europe/Warsaw", late) == late
