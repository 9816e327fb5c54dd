"""``kolbot agency``, ``kolbot people`` and ``kolbot audit`` against a real database file."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.messages import Outgoing
from bot.i18n import translator
from bot.services import review
from storage.clock import utcnow
from storage.models import AccountLink, Profile, Screening, SealedPayout, SocialClaim
from storage.sqlite import SqliteStore
from tests.integration.test_operator_cli import kolbot

TTL = timedelta(days=7)


def profile(name: str, handle: str, language: str = "en", followers: int = 5000) -> Profile:
    return Profile(
        display_name=name,
        language=language,
        country="PL",
        timezone="Europe/Warsaw",
        socials=(SocialClaim(network="instagram", handle=handle, followers=followers),),
        niches=("tech",),
        payout=SealedPayout(
            method="paypal", sealed="sealed", masked="a***@example.com", fingerprint=handle
        ),
        consent_version="2026-11-01",
        consent_at=utcnow(),
    )


async def seed(database: Path) -> list[int]:
    """Three applicants; the third claims the first one's handle, so it is flagged."""
    store = await SqliteStore.open(database, TTL)
    ids = []
    try:
        for user, (name, handle, language) in enumerate(
            [("Anna", "anna", "en"), ("Ewa\x1b[31m", "ewa", "pl"), ("Copy", "anna", "fr")], 1
        ):
            account = AccountLink(
                platform="telegram", platform_user_id=str(user), dm_chat=f"telegram:{user}"
            )
            async with store.unit_of_work() as uow:
                person = await uow.people.create_applicant(
                    profile(name, handle, language),
                    account,
                    lambda p, e: Screening(status="applicant", flags=tuple(e.as_flags())),
                )
            ids.append(person.id)
    finally:
        await store.close()
    return ids


async def messages_to(database: Path, chat: str) -> list[str]:
    store = await SqliteStore.open(database, TTL)
    try:
        rows = await store.db.fetchall(
            "SELECT payload FROM deliveries WHERE chat = ? ORDER BY id", (chat,)
        )
    finally:
        await store.close()
    return [Outgoing.model_validate(json.loads(row["payload"])).text for row in rows]


def test_agency_create_prints_a_code_that_agency_list_counts(tmp_path: Path) -> None:
    database = tmp_path / "kolbot.db"
    assert kolbot(database, "db", "upgrade").returncode == 0
    created = kolbot(database, "agency", "create", "Acme Media")
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert lines[0] == "agency 1: Acme Media"
    assert re.fullmatch(r"invite code: [A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", lines[1])
    assert "/agency " in lines[2]
    listed = kolbot(database, "agency", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].split()[:4] == [
        "1",
        "0",
        "1",
        utcnow().strftime("%Y-%m-%d"),
    ]
    assert listed.stdout.splitlines()[1].endswith("Acme Media")


def test_an_invite_lapses_at_a_time_in_utc_and_in_the_terminals_zone(tmp_path: Path) -> None:
    """Any private chat with the bot takes the code, the console's included."""
    database = tmp_path / "kolbot.db"
    assert kolbot(database, "db", "upgrade").returncode == 0
    created = kolbot(database, "agency", "create", "Acme", TZ="Europe/Warsaw")
    assert created.returncode == 0, created.stderr
    code = created.stdout.splitlines()[1].removeprefix("invite code: ")
    lapses = utcnow() + timedelta(days=7)
    here = lapses.astimezone(ZoneInfo("Europe/Warsaw"))
    assert created.stdout.splitlines()[2] == (
        f"It works once, until {lapses:%Y-%m-%d %H:%M} UTC ({here:%Y-%m-%d %H:%M} CET here): "
        f"whoever sends /agency {code} to the bot in a private chat becomes an admin of the "
        "agency, and can make more codes with /invite."
    )
    in_utc = kolbot(database, "agency", "create", "Beta", TZ="UTC")
    assert f"until {lapses:%Y-%m-%d %H:%M} UTC: whoever" in in_utc.stdout
    described = kolbot(database, "agency", "create", "--help").stdout
    assert "Telegram or Discord" not in " ".join(described.split())


async def test_people_list_approve_reject_and_the_audit_tail(tmp_path: Path) -> None:
    database = tmp_path / "kolbot.db"
    anna, ewa, copy = await seed(database)

    flagged = kolbot(database, "people", "list", "--flagged")
    assert flagged.returncode == 0, flagged.stderr
    rows = flagged.stdout.splitlines()
    assert rows[0] == "minimum followers: 1000"
    assert rows[2].split()[:3] == [str(copy), "applicant", "5000"]
    # The same handle and the same payout fingerprint as Anna's.
    assert [row.split() for row in rows[3:]] == [
        ["flag:", "handle_claimed", "instagram:anna"],
        ["flag:", "payout_reused"],
    ]
    everyone = kolbot(database, "people", "list", "--status", "applicant").stdout.splitlines()
    assert [line.split()[0] for line in everyone[2:] if not line.startswith(" " * 6)] == [
        str(copy),
        str(anna),
        str(ewa),
    ]
    # A name is shown, never obeyed: its escape sequence is not passed to the terminal.
    assert "\x1b" not in "".join(everyone)
    assert "Ewa?[31m" in "".join(everyone)

    approved = kolbot(database, "people", "approve", str(anna))
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.startswith(f"approved {anna}")
    again = kolbot(database, "people", "approve", str(anna))
    assert again.returncode == 1
    assert "not an applicant" in again.stderr
    missing = kolbot(database, "people", "reject", "999", "--reason", "content")
    assert missing.returncode == 1
    assert "no person 999" in missing.stderr
    too_long = kolbot(
        database,
        "people",
        "reject",
        str(ewa),
        "--reason",
        "content",
        "--note",
        "x" * (review.MAX_NOTE + 1),
    )
    assert too_long.returncode == 1
    note = "Wróć za pół roku <3 — *naprawdę*"
    rejected = kolbot(database, "people", "reject", str(ewa), "--reason", "region", "--note", note)
    assert rejected.returncode == 0, rejected.stderr

    [welcome] = await messages_to(database, "telegram:1")
    assert welcome.startswith("Welcome to the programme, Anna")
    pl = translator("pl")
    [refusal] = await messages_to(database, "telegram:2")
    assert refusal == (
        pl._(review.REJECTED, name="Ewa\x1b[31m", reason=pl._(review.REJECTION_REASONS["region"]))
        + f"\n\n{pl._(review.NOTE)}\n{note}"
    )
    assert await messages_to(database, "telegram:3") == []

    tail = kolbot(database, "audit", "tail", "-n", "8")
    assert tail.returncode == 0, tail.stderr
    lines = [line.split(maxsplit=2)[2] for line in tail.stdout.splitlines()]
    assert lines == [
        "allowed cli people.list (1 shown)",
        "allowed cli people.list (3 shown)",
        "allowed cli status person:1 (applicant->approved)",
        "allowed cli review.approve person:1",
        "refused cli review.approve person:1 (not_applicant)",
        "refused cli review.reject person:999 (unknown content)",
        "allowed cli status person:2 (applicant->rejected)",
        "allowed cli review.reject person:2 (region)",
    ]


@pytest.mark.parametrize(
    "command",
    [
        ("agency", "create"),
        ("agency", "list"),
        ("people", "list"),
        ("people", "approve"),
        ("people", "reject"),
        ("audit", "tail"),
    ],
)
def test_every_command_explains_itself(tmp_path: Path, command: tuple[str, ...]) -> None:
    shown = kolbot(tmp_path / "kolbot.db", *command, "--help")
    assert shown.returncode == 0, shown.stderr
    description = shown.stdout.split("\n\n")[1]
    assert len(description) > 40
