"""People, their platform accounts, social claims, niches and payout: one aggregate."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import aiosqlite

from storage.database import Database, Row, from_db_time, to_db_time, utcnow
from storage.models import (
    AccountLink,
    Evidence,
    Person,
    PersonStatus,
    Profile,
    Screening,
    SealedPayout,
    SocialClaim,
)

EDITABLE_COLUMNS = frozenset({"display_name", "language", "country", "timezone"})


class AlreadySignedUp(Exception):
    """The account already belongs to a person: one platform account, one person."""


class PeopleRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, person_id: int) -> Person | None:
        row = await self._db.fetchone("SELECT * FROM people WHERE id = ?", (person_id,))
        return await self._load(row) if row else None

    async def by_account(self, platform: str, platform_user_id: str) -> Person | None:
        row = await self._db.fetchone(
            "SELECT people.* FROM people JOIN accounts ON accounts.person_id = people.id "
            "WHERE accounts.platform = ? AND accounts.platform_user_id = ? "
            "AND people.erased_at IS NULL",
            (platform, platform_user_id),
        )
        return await self._load(row) if row else None

    async def account(self, platform: str, platform_user_id: str) -> AccountLink | None:
        row = await self._db.fetchone(
            "SELECT * FROM accounts WHERE platform = ? AND platform_user_id = ?",
            (platform, platform_user_id),
        )
        return _account(row) if row else None

    async def create_applicant(
        self,
        profile: Profile,
        account: AccountLink,
        screen: Callable[[Profile, Evidence], Screening],
    ) -> Person:
        """Store a signup and its screening in one transaction, so neither exists alone."""
        now = to_db_time(utcnow())
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT person_id FROM accounts WHERE platform = ? AND platform_user_id = ? "
                "AND person_id IS NOT NULL",
                (account.platform, account.platform_user_id),
            ) as cursor:
                if await cursor.fetchone() is not None:
                    raise AlreadySignedUp(account.platform)
            evidence = await _evidence(conn, profile.socials, profile.payout, person_id=None)
            screening = screen(profile, evidence)
            cursor = await conn.execute(
                "INSERT INTO people (display_name, language, country, timezone, status, "
                "status_reason, consent_version, consent_at, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    profile.display_name,
                    profile.language,
                    profile.country,
                    profile.timezone,
                    screening.status,
                    screening.reason,
                    profile.consent_version,
                    to_db_time(profile.consent_at),
                    now,
                    now,
                ),
            )
            person_id = cursor.lastrowid
            assert person_id is not None
            await conn.execute(
                "INSERT INTO accounts (platform, platform_user_id, person_id, dm_chat, "
                "reachable, created_at) VALUES (?, ?, ?, ?, 1, ?) "
                "ON CONFLICT (platform, platform_user_id) DO UPDATE SET "
                "person_id = excluded.person_id, dm_chat = excluded.dm_chat, reachable = 1",
                (account.platform, account.platform_user_id, person_id, account.dm_chat, now),
            )
            await _write_socials(conn, person_id, profile.socials)
            await _write_niches(conn, person_id, profile.niches)
            await _write_payout(conn, person_id, profile.payout, now)
            await _add_flags(conn, person_id, screening.flags, now)
            actor = f"{account.platform}:{account.platform_user_id}"
            await _audit(conn, person_id, actor, "signup", screening.status, now)
        person = await self.get(person_id)
        assert person is not None
        return person

    async def update(
        self,
        person_id: int,
        actor: str,
        *,
        columns: dict[str, str] | None = None,
        socials: tuple[SocialClaim, ...] | None = None,
        niches: tuple[str, ...] | None = None,
        payout: SealedPayout | None = None,
    ) -> list[tuple[str, str]]:
        """Apply an edit; returns the review flags it raised (a reused handle or payout)."""
        columns = columns or {}
        if not columns.keys() <= EDITABLE_COLUMNS:
            raise ValueError(f"not editable: {sorted(columns.keys() - EDITABLE_COLUMNS)}")
        now = to_db_time(utcnow())
        flags: list[tuple[str, str]] = []
        async with self._db.transaction() as conn:
            if columns:
                assignments = ", ".join(f"{name} = ?" for name in sorted(columns))
                await conn.execute(
                    f"UPDATE people SET {assignments}, updated_at = ? WHERE id = ?",  # noqa: S608
                    (*(columns[name] for name in sorted(columns)), now, person_id),
                )
            if socials is not None:
                await _replace_socials(conn, person_id, socials)
            if niches is not None:
                await conn.execute("DELETE FROM person_niches WHERE person_id = ?", (person_id,))
                await _write_niches(conn, person_id, niches)
            if payout is not None:
                await _write_payout(conn, person_id, payout, now)
            if socials is not None or payout is not None:
                flags = (await _evidence(conn, socials or (), payout, person_id)).as_flags()
                await _add_flags(conn, person_id, flags, now)
            changed = sorted(columns) + [
                name
                for name, value in (("socials", socials), ("niches", niches), ("payout", payout))
                if value is not None
            ]
            await _audit(conn, person_id, actor, "edit", ",".join(changed), now)
        return flags

    async def open_flags(self, person_id: int) -> list[tuple[str, str]]:
        rows = await self._db.fetchall(
            "SELECT reason, detail FROM review_flags WHERE person_id = ? AND resolved_at IS NULL "
            "ORDER BY id",
            (person_id,),
        )
        return [(row["reason"], row["detail"]) for row in rows]

    async def set_status(
        self, person_id: int, status: PersonStatus, reason: str | None, actor: str
    ) -> None:
        now = to_db_time(utcnow())
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE people SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?",
                (status, reason, now, person_id),
            )
            await _audit(conn, person_id, actor, "status", status, now)

    async def set_reachable(self, dm_chat: str, reachable: bool) -> bool:
        """Returns whether anything changed, so callers log only real transitions."""
        changed = await self._db.execute(
            "UPDATE accounts SET reachable = ? WHERE dm_chat = ? AND reachable != ?",
            (int(reachable), dm_chat, int(reachable)),
        )
        return changed > 0

    async def _load(self, row: Row) -> Person:
        person_id = row["id"]
        socials = await self._db.fetchall(
            "SELECT network, handle, followers, verified_at FROM social_profiles "
            "WHERE person_id = ? ORDER BY id",
            (person_id,),
        )
        niches = await self._db.fetchall(
            "SELECT niche FROM person_niches WHERE person_id = ? ORDER BY niche", (person_id,)
        )
        payout = await self._db.fetchone(
            "SELECT method, details, masked, fingerprint FROM payouts WHERE person_id = ?",
            (person_id,),
        )
        assert payout is not None, f"person {person_id} has no payout row"
        return Person(
            flags=tuple(await self.open_flags(person_id)),
            id=person_id,
            display_name=row["display_name"],
            language=row["language"],
            country=row["country"],
            timezone=row["timezone"],
            status=row["status"],
            status_reason=row["status_reason"],
            consent_version=row["consent_version"],
            consent_at=from_db_time(row["consent_at"]),
            created_at=from_db_time(row["created_at"]),
            socials=tuple(
                SocialClaim(
                    network=social["network"],
                    handle=social["handle"],
                    followers=social["followers"],
                    verified_at=_maybe_time(social["verified_at"]),
                )
                for social in socials
            ),
            niches=tuple(niche["niche"] for niche in niches),
            payout=SealedPayout(
                method=payout["method"],
                sealed=payout["details"],
                masked=payout["masked"],
                fingerprint=payout["fingerprint"],
            ),
        )


def _account(row: Row) -> AccountLink:
    return AccountLink(
        platform=row["platform"],
        platform_user_id=row["platform_user_id"],
        dm_chat=row["dm_chat"],
        person_id=row["person_id"],
        reachable=bool(row["reachable"]),
    )


def _maybe_time(text: str | None) -> datetime | None:
    return from_db_time(text) if text else None


async def _evidence(
    conn: aiosqlite.Connection,
    socials: tuple[SocialClaim, ...],
    payout: SealedPayout | None,
    person_id: int | None,
) -> Evidence:
    """Handles and payout destinations that someone other than ``person_id`` already has."""
    claimed = []
    for social in socials:
        async with conn.execute(
            "SELECT 1 FROM social_profiles WHERE network = ? AND handle = ? "
            "AND person_id IS NOT ? LIMIT 1",
            (social.network, social.handle, person_id),
        ) as cursor:
            if await cursor.fetchone():
                claimed.append(social)
    payout_reused = False
    if payout is not None:
        async with conn.execute(
            "SELECT 1 FROM payouts WHERE fingerprint = ? AND person_id IS NOT ? LIMIT 1",
            (payout.fingerprint, person_id),
        ) as cursor:
            payout_reused = await cursor.fetchone() is not None
    return Evidence(claimed_elsewhere=tuple(claimed), payout_reused=payout_reused)


async def _write_socials(
    conn: aiosqlite.Connection, person_id: int, socials: tuple[SocialClaim, ...]
) -> None:
    await conn.executemany(
        "INSERT INTO social_profiles (person_id, network, handle, followers) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (person_id, network, handle) DO UPDATE SET followers = excluded.followers",
        [(person_id, s.network, s.handle, s.followers) for s in socials],
    )


async def _replace_socials(
    conn: aiosqlite.Connection, person_id: int, socials: tuple[SocialClaim, ...]
) -> None:
    """Keep the rows of claims that stay, so their verification survives an edit."""
    kept = [f"{s.network}:{s.handle}" for s in socials]
    placeholders = ", ".join("?" for _ in kept) or "NULL"
    await conn.execute(
        "DELETE FROM social_profiles WHERE person_id = ? "  # noqa: S608 - placeholders only
        f"AND network || ':' || handle NOT IN ({placeholders})",
        (person_id, *kept),
    )
    await _write_socials(conn, person_id, socials)


async def _add_flags(
    conn: aiosqlite.Connection, person_id: int, flags: Iterable[tuple[str, str]], now: str
) -> None:
    """Raise each flag once: an open flag for the same reason is not raised again."""
    await conn.executemany(
        "INSERT INTO review_flags (person_id, reason, detail, created_at) "
        "SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM review_flags WHERE person_id = ? "
        "AND reason = ? AND detail = ? AND resolved_at IS NULL)",
        [(person_id, reason, detail, now, person_id, reason, detail) for reason, detail in flags],
    )


async def _write_niches(
    conn: aiosqlite.Connection, person_id: int, niches: tuple[str, ...]
) -> None:
    await conn.executemany(
        "INSERT OR IGNORE INTO person_niches (person_id, niche) VALUES (?, ?)",
        [(person_id, niche) for niche in niches],
    )


async def _write_payout(
    conn: aiosqlite.Connection, person_id: int, payout: SealedPayout, now: str
) -> None:
    await conn.execute(
        "INSERT INTO payouts (person_id, method, details, masked, fingerprint, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET "
        "method = excluded.method, details = excluded.details, masked = excluded.masked, "
        "fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
        (person_id, payout.method, payout.sealed, payout.masked, payout.fingerprint, now),
    )


async def _audit(
    conn: aiosqlite.Connection, person_id: int, actor: str, action: str, detail: str, now: str
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (person_id, actor, action, detail, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (person_id, actor, action, detail, now),
    )
