"""Agencies, invites and the audit log on a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from storage.clock import utcnow
from storage.models import NewAuditEntry
from storage.sqlite import Database, SqliteStore

TTL = timedelta(days=7)
WEEK = timedelta(days=7)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "k.db", TTL)
    yield opened
    await opened.close()


async def _agency_with_code(store: SqliteStore, name: str, code: str) -> int:
    async with store.unit_of_work() as uow:
        agency = await uow.agencies.create(name)
        await uow.agencies.create_invite(agency.id, code, "cli", utcnow() + WEEK)
    return agency.id


async def test_agencies_are_created_listed_and_counted(store: SqliteStore) -> None:
    first = await _agency_with_code(store, "Acme Media", "code-a")
    async with store.unit_of_work() as uow:
        second = await uow.agencies.create("Brandly")
        # One open, one past its time, one used: only the first counts as open.
        await uow.agencies.create_invite(first, "code-b", "cli", utcnow() - timedelta(seconds=1))
        await uow.agencies.create_invite(second.id, "code-c", "cli", utcnow() + WEEK)
        assert (await uow.agencies.redeem_invite("code-c", "telegram", "7", utcnow())).outcome == (
            "joined"
        )
    async with store.reading() as uow:
        listing = await uow.agencies.all()
        fetched = await uow.agencies.get(first)
        missing = await uow.agencies.get(999)
    assert [(item.agency.name, item.admins, item.open_invites) for item in listing] == [
        ("Acme Media", 0, 1),
        ("Brandly", 1, 0),
    ]
    assert fetched is not None
    assert fetched.name == "Acme Media"
    assert missing is None


async def test_an_invite_makes_an_admin_once(store: SqliteStore) -> None:
    agency_id = await _agency_with_code(store, "Acme", "secret-code")
    async with store.unit_of_work() as uow:
        joined = await uow.agencies.redeem_invite("secret-code", "telegram", "42", utcnow())
        again = await uow.agencies.redeem_invite("secret-code", "discord", "43", utcnow())
        unknown = await uow.agencies.redeem_invite("no-such-code", "discord", "43", utcnow())
    assert joined.outcome == "joined"
    assert joined.agency is not None
    assert joined.agency.id == agency_id
    assert again.outcome == "used"
    assert unknown.outcome == "unknown"
    assert unknown.agency is None
    async with store.reading() as uow:
        admins = await uow.agencies.admins(agency_id)
        assert [admin.account for admin in admins] == ["telegram:42"]
        assert await uow.agencies.is_admin(agency_id, "telegram", "42")
        assert not await uow.agencies.is_admin(agency_id, "discord", "43")
        agency = await uow.agencies.agency_of("telegram", "42")
        assert agency is not None
        assert agency.id == agency_id
        assert await uow.agencies.agency_of("discord", "43") is None


async def test_the_code_itself_is_not_stored(store: SqliteStore) -> None:
    await _agency_with_code(store, "Acme", "plain-text-code")
    with closing(sqlite3.connect(store.db.path)) as raw:
        dump = "\n".join(raw.iterdump())
    assert "plain-text-code" not in dump


async def test_an_expired_invite_is_refused(store: SqliteStore) -> None:
    async with store.unit_of_work() as uow:
        agency = await uow.agencies.create("Acme")
        await uow.agencies.create_invite(agency.id, "late", "cli", utcnow() + timedelta(hours=1))
    async with store.unit_of_work() as uow:
        expired = await uow.agencies.redeem_invite(
            "late", "telegram", "1", utcnow() + timedelta(hours=2)
        )
        in_time = await uow.agencies.redeem_invite("late", "telegram", "1", utcnow())
    assert expired.outcome == "expired"
    assert in_time.outcome == "joined"


async def test_an_admin_keeps_one_agency_and_leaves_the_code_unused(store: SqliteStore) -> None:
    mine = await _agency_with_code(store, "Mine", "mine-1")
    async with store.unit_of_work() as uow:
        await uow.agencies.create_invite(mine, "mine-2", "telegram:42", utcnow() + WEEK)
    other = await _agency_with_code(store, "Other", "other-1")
    async with store.unit_of_work() as uow:
        assert (
            await uow.agencies.redeem_invite("mine-1", "telegram", "42", utcnow())
        ).outcome == ("joined")
        same = await uow.agencies.redeem_invite("mine-2", "telegram", "42", utcnow())
        elsewhere = await uow.agencies.redeem_invite("other-1", "telegram", "42", utcnow())
    assert same.outcome == "already_admin"
    assert elsewhere.outcome == "admin_elsewhere"
    assert elsewhere.agency is not None
    assert elsewhere.agency.id == other
    # Neither code was spent: the people they were meant for can still use them.
    async with store.unit_of_work() as uow:
        assert (await uow.agencies.redeem_invite("mine-2", "discord", "5", utcnow())).outcome == (
            "joined"
        )
        assert (await uow.agencies.redeem_invite("other-1", "discord", "6", utcnow())).outcome == (
            "joined"
        )


async def test_two_people_racing_for_one_code(store: SqliteStore) -> None:
    agency_id = await _agency_with_code(store, "Acme", "race")

    async def redeem(user: str) -> str:
        async with store.unit_of_work() as uow:
            return (await uow.agencies.redeem_invite("race", "telegram", user, utcnow())).outcome

    outcomes = await asyncio.gather(*(redeem(str(user)) for user in range(8)))
    assert sorted(outcomes) == ["joined"] + ["used"] * 7
    async with store.reading() as uow:
        assert len(await uow.agencies.admins(agency_id)) == 1


async def test_a_redemption_rolled_back_leaves_the_code_usable(store: SqliteStore) -> None:
    agency_id = await _agency_with_code(store, "Acme", "again")

    async def redeem_then_fail() -> None:
        async with store.unit_of_work() as uow:
            await uow.agencies.redeem_invite("again", "telegram", "1", utcnow())
            raise RuntimeError("the reply could not be queued")

    with pytest.raises(RuntimeError):
        await redeem_then_fail()
    async with store.unit_of_work() as uow:
        retried = await uow.agencies.redeem_invite("again", "telegram", "1", utcnow())
    assert retried.outcome == "joined"
    async with store.reading() as uow:
        assert await uow.agencies.is_admin(agency_id, "telegram", "1")


async def test_the_audit_log_is_written_and_read_newest_last(store: SqliteStore) -> None:
    agency_id = await _agency_with_code(store, "Acme", "x")
    async with store.unit_of_work() as uow:
        await uow.audit.record(NewAuditEntry(actor="cli", action="agency.create", target="a"))
        await uow.audit.record(
            NewAuditEntry(
                actor="telegram:9",
                action="agency.invite",
                outcome="refused",
                target=f"agency:{agency_id}",
                agency_id=agency_id,
                detail="not an admin",
            )
        )
        await uow.audit.record(NewAuditEntry(actor="cli", action="people.approve", person_id=3))
    async with store.reading() as uow:
        everything = await uow.audit.tail(10)
        last_two = await uow.audit.tail(2)
        of_agency = await uow.audit.tail(10, agency_id=agency_id)
    assert [entry.action for entry in everything] == [
        "agency.create",
        "agency.invite",
        "people.approve",
    ]
    assert [entry.action for entry in last_two] == ["agency.invite", "people.approve"]
    [refused] = of_agency
    assert (refused.actor, refused.outcome, refused.target, refused.detail) == (
        "telegram:9",
        "refused",
        f"agency:{agency_id}",
        "not an admin",
    )
    assert everything[0].outcome == "allowed"
    assert everything[2].person_id == 3
    assert everything[0].created_at <= everything[2].created_at


async def test_audit_rows_from_before_agencies_survive_the_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = await Database.open(path, migrate=False)
    await old.upgrade(until=2)
    await old.close()
    with closing(sqlite3.connect(path)) as raw:
        raw.execute(
            "INSERT INTO audit_log (person_id, actor, action, detail, created_at) "
            "VALUES (1, 'telegram:1', 'signup', 'applicant', '2026-01-01T00:00:00+00:00')"
        )
        raw.commit()
    store = await SqliteStore.open(path, TTL)
    try:
        async with store.reading() as uow:
            [entry] = await uow.audit.tail(5)
    finally:
        await store.close()
    assert (entry.action, entry.outcome, entry.target, entry.agency_id) == (
        "signup",
        "allowed",
        "",
        None,
    )


async def test_one_account_cannot_be_an_admin_twice(store: SqliteStore) -> None:
    """Uniqueness is the table's, not the code's: a second row for one account fails."""
    agency_id = await _agency_with_code(store, "Acme", "u")
    async with store.unit_of_work() as uow:
        await uow.agencies.redeem_invite("u", "telegram", "1", utcnow())
    with closing(sqlite3.connect(store.db.path)) as raw, pytest.raises(sqlite3.IntegrityError):
        raw.execute(
            "INSERT INTO agency_admins (agency_id, platform, platform_user_id, added_at) "
            "VALUES (?, 'telegram', '1', '2026-01-01')",
            (agency_id,),
        )


async def test_a_voided_code_is_spent_without_making_an_admin(store: SqliteStore) -> None:
    agency_id = await _agency_with_code(store, "Acme", "seen-in-a-group")
    async with store.unit_of_work() as uow:
        assert await uow.agencies.void_invite("seen-in-a-group", "void:t:-1", utcnow()) == (
            agency_id
        )
        assert await uow.agencies.void_invite("seen-in-a-group", "void:t:-1", utcnow()) is None
        assert await uow.agencies.void_invite("never-made", "void:t:-1", utcnow()) is None
        late = await uow.agencies.redeem_invite("seen-in-a-group", "telegram", "1", utcnow())
    assert late.outcome == "used"
    async with store.reading() as uow:
        assert await uow.agencies.admins(agency_id) == []
