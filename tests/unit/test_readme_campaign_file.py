"""The campaign file of docs/operating.md, taken out of it and parsed as ``kolbot campaign
create`` parses it, at a date before its deadline: the example stays true after that date
has passed, and a date past it is refused as the docs say."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.campaign_cli import parse_file
from storage.models import Commission, NewCampaign

ROOT = Path(__file__).resolve().parents[2]


def readme_campaign_file() -> dict[str, Any]:
    text = (ROOT / "docs" / "operating.md").read_text(encoding="utf-8")
    section = text[text.index("\n### Campaign files\n") :]
    match = re.search(r"^```toml\n(.*?)^```", section, re.S | re.M)
    assert match is not None, "the Campaign files section has no TOML example"
    return tomllib.loads(match.group(1))


def test_the_readme_campaign_file_parses_before_its_deadline() -> None:
    data = readme_campaign_file()
    # Its deadline as the parser reads it, in the file's zone: from any date a month ahead.
    probe = parse_file(data, 1, now=_long_before())
    assert isinstance(probe, NewCampaign), probe
    made = parse_file(data, 1, now=probe.deadline - timedelta(days=30))
    assert isinstance(made, NewCampaign), made
    assert (made.brand, made.title, made.slots) == ("Acme", "Winter boots", 50)
    assert made.commission == Commission.percent(1250)
    assert set(made.countries) == {"PL", "DE", "FR"}
    assert made.landing_url == "https://acme.example/boots"


def test_the_readme_campaign_file_is_refused_after_its_deadline() -> None:
    data = readme_campaign_file()
    probe = parse_file(data, 1, now=_long_before())
    assert isinstance(probe, NewCampaign), probe
    refused = parse_file(data, 1, now=probe.deadline + timedelta(minutes=1))
    assert refused == ["deadline: The deadline must be in the future."]


def _long_before() -> datetime:
    """Ten months before the example's deadline: inside the year a deadline may be ahead."""
    deadline = readme_campaign_file()["deadline"]
    day = datetime.strptime(str(deadline)[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    return day - timedelta(days=300)
