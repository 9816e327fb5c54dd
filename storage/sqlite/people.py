"""People, their platform accounts, social claims, niches and payout: one aggregate."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from storage.base import AlreadySignedUp, PeopleRepository
from storage.clock import utcnow
from storage.models import (
    AccountLink,
    Evidence,
    Person,
    PersonStatus,
    Profile,
    Screening,
    SealedPayout,
    SocialClaim,
    StatusBy,
)
from storage.sqlite.database import Row, Session, from_db_time, maybe_time, to_db_time

EDITABLE_COLUMNS = frozenset({"display_name", "language", "country", "timezone"})
_INSERT_PERSON = (
    "INSERT INTO people (display_name, language, country, timezone, status, status_reason, "
    "status_by, consent_version, consent_at, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, 'screening', ?, ?, ?, ?) RETURNING id"
)
_LINK_ACCOUNT = (
    "INSERT INTO accounts (platform, platform_user_id, person_id, dm_chat, reachable, created_at) "
    "VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT (platform, platform_user_id) DO UPDATE SET "
    "person_id = excluded.person_id, dm_chat = excluded.dm_chat, reachable = 1"
)


# People to review or list, flagged ones first. ``status`` is "" or STATUS_IS: a status
# compared as such reads only that status's people through its index (the review queue
# among a million approved).
FIND = (
    "SELECT * FROM (SELECT people.*, CASE WHEN EXISTS (SELECT 1 FROM review_flags f "
    "WHERE f.person_id = people.id AND f.resolved_at IS NULL) THEN 1 ELSE 0 END "
    "AS has_flags FROM people WHERE people.erased_at IS NULL{status}) "
    "AS listed WHERE has_flags = 1 OR ? = 0 ORDER BY has_flags DESC, created_at, id LIMIT ?"
)
STATUS_IS = " AND people.status = ?"


class SqlitePeople(PeopleRepository):
    def __init__(self, session: Session) -> None:
        self._s = session

    async def get(self, person_id: int) -> Person | None:
        row = await self._s.one("SELECT * FROM people WHERE id = ?", (person_id,))
        return await self._load(row) if row else None

    async def by_account(self, platform: str, platform_user_id: str) -> Person | None:
        row = await self._s.one(
            "SELECT people.* FROM people JOIN accounts ON accounts.person_id = people.id "
            "WHERE accounts.platform = ? AND accounts.platform_user_id = ? "
            "AND people.erased_at IS NULL",
            (platform, platform_user_id),
        )
        return await self._load(row) if row else None

    async def account(self, platform: str, platform_user_id: str) -> AccountLink | None:
        row = await self._s.one(
            "SELECT * FROM accounts WHERE platform = ? AND platform_user_id = ?",
            (platform, platform_user_id),
        )
        return _account(row) if row else None

    async def save_account(self, account: AccountLink) -> None:
        await self._s.run(
            "INSERT INTO accounts (platform, platform_user_id, person_id, dm_chat, reachable, "
            "created_at) VALUES (?, ?, NULL, ?, 1, ?) "
            "ON CONFLICT (platform, platform_user_id) DO UPDATE SET "
            "dm_chat = excluded.dm_chat, reachable = 1",
            (account.platform, account.platform_user_id, account.dm_chat, to_db_time(utcnow())),
        )

    async def create_applicant(
        self,
        profile: Profile,
        account: AccountLink,
        screen: Callable[[Profile, Evidence], Screening],
    ) -> Person:
        now = to_db_time(utcnow())
        # Claimed atomically: of two chats finishing at once, the second updates nothing.
        claimed = await self._s.one(
            "INSERT INTO accounts (platform, platform_user_id, person_id, dm_chat, reachable, "
            "created_at) VALUES (?, ?, NULL, ?, 1, ?) "
            "ON CONFLICT (platform, platform_user_id) DO UPDATE SET dm_chat = excluded.dm_chat "
            "WHERE accounts.person_id IS NULL RETURNING id",
            (account.platform, account.platform_user_id, account.dm_chat, now),
        )
        if claimed is None:
            raise AlreadySignedUp(account.platform)
        evidence = await self.evidence(0, profile.socials, profile.payout)
        screening = screen(profile, evidence)
        row = await self._s.one(
            _INSERT_PERSON,
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
        assert row is not None
        person_id: int = row["id"]
        await self._s.run(
            _LINK_ACCOUNT,
            (account.platform, account.platform_user_id, person_id, account.dm_chat, now),
        )
        await self._write_details(person_id, profile, now)
        await self._add_flags(person_id, screening.flags, now)
        actor = f"{account.platform}:{account.platform_user_id}"
        await self._audit(person_id, actor, "signup", screening.status, now)
        person = await self.get(person_id)
        assert person is not None
        return person

    async def accounts_of(self, person_id: int) -> list[AccountLink]:
        rows = await self._s.all(
            "SELECT * FROM accounts WHERE person_id = ? ORDER BY id", (person_id,)
        )
        return [_account(row) for row in rows]

    async def find(
        self, *, status: PersonStatus | None = None, flagged: bool = False, limit: int = 50
    ) -> list[Person]:
        if status is None:
            rows = await self._s.all(FIND.format(status=""), (int(flagged), limit))
        else:
            rows = await self._s.all(FIND.format(status=STATUS_IS), (status, int(flagged), limit))
        return [await self._load(row) for row in rows]

    async def import_many(self, profiles: Sequence[tuple[Profile, AccountLink]]) -> int:
        """Set-based: ids are handed out here, under the unit of work's write lock, so every
        table takes its rows in one ``executemany``."""
        now = to_db_time(utcnow())
        row = await self._s.one("SELECT COALESCE(MAX(id), 0) AS last FROM people")
        first = int(row["last"]) + 1 if row else 1
        numbered = list(enumerate(profiles, start=first))
        await self._s.many(
            "INSERT INTO people (id, display_name, language, country, timezone, status, "
            "consent_version, consent_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, 'approved', ?, ?, ?, ?)",
            [
                (
                    person_id,
                    p.display_name,
                    p.language,
                    p.country,
                    p.timezone,
                    p.consent_version,
                    to_db_time(p.consent_at),
                    now,
                    now,
                )
                for person_id, (p, _) in numbered
            ],
        )
        await self._s.many(
            _LINK_ACCOUNT,
            [
                (a.platform, a.platform_user_id, person_id, a.dm_chat, now)
                for person_id, (_, a) in numbered
            ],
        )
        await self._s.many(
            "INSERT INTO social_profiles (person_id, network, handle, followers) "
            "VALUES (?, ?, ?, ?)",
            [
                (person_id, s.network, s.handle, s.followers)
                for person_id, (p, _) in numbered
                for s in p.socials
            ],
        )
        await self._s.many(
            "INSERT INTO person_niches (person_id, niche) VALUES (?, ?)",
            [(person_id, niche) for person_id, (p, _) in numbered for niche in p.niches],
        )
        await self._s.many(
            "INSERT INTO payouts (person_id, method, details, masked, fingerprint, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    person_id,
                    p.payout.method,
                    p.payout.sealed,
                    p.payout.masked,
                    p.payout.fingerprint,
                    now,
                )
                for person_id, (p, _) in numbered
            ],
        )
        return len(numbered)

    async def _write_details(self, person_id: int, profile: Profile, now: str) -> None:
        await self._write_socials(person_id, profile.socials)
        await self._write_niches(person_id, profile.niches)
        await self._write_payout(person_id, profile.payout, now)

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
        columns = columns or {}
        if not columns.keys() <= EDITABLE_COLUMNS:
            raise ValueError(f"not editable: {sorted(columns.keys() - EDITABLE_COLUMNS)}")
        now = to_db_time(utcnow())
        flags: list[tuple[str, str]] = []
        if columns:
            assignments = ", ".join(f"{name} = ?" for name in sorted(columns))
            await self._s.run(
                f"UPDATE people SET {assignments}, updated_at = ? WHERE id = ?",  # noqa: S608
                (*(columns[name] for name in sorted(columns)), now, person_id),
            )
        if socials is not None:
            await self._replace_socials(person_id, socials)
        if niches is not None:
            await self._s.run("DELETE FROM person_niches WHERE person_id = ?", (person_id,))
            await self._write_niches(person_id, niches)
        if payout is not None:
            await self._write_payout(person_id, payout, now)
        if socials is not None or payout is not None:
            flags = (await self.evidence(person_id, socials or (), payout)).as_flags()
            await self._add_flags(person_id, flags, now)
        changed = sorted(columns) + [
            name
            for name, value in (("socials", socials), ("niches", niches), ("payout", payout))
            if value is not None
        ]
        await self._audit(person_id, actor, "edit", ",".join(changed), now)
        return flags

    async def open_flags(self, person_id: int) -> list[tuple[str, str]]:
        rows = await self._s.all(
            "SELECT reason, detail FROM review_flags WHERE person_id = ? AND resolved_at IS NULL "
            "ORDER BY id",
            (person_id,),
        )
        return [(row["reason"], row["detail"]) for row in rows]

    async def flag(self, person_id: int, reason: str, detail: str = "") -> None:
        await self._add_flags(person_id, [(reason, detail)], to_db_time(utcnow()))

    async def resolve_flag(self, person_id: int, reason: str) -> None:
        await self._s.run(
            "UPDATE review_flags SET resolved_at = ? "
            "WHERE person_id = ? AND reason = ? AND resolved_at IS NULL",
            (to_db_time(utcnow()), person_id, reason),
        )

    async def change_status(
        self,
        person_id: int,
        expected: PersonStatus,
        status: PersonStatus,
        reason: str | None,
        actor: str,
        by: StatusBy = "operator",
    ) -> bool:
        now = to_db_time(utcnow())
        changed = await self._s.run(
            "UPDATE people SET status = ?, status_reason = ?, status_by = ?, updated_at = ? "
            "WHERE id = ? AND status = ?",
            (status, reason, by, now, person_id, expected),
        )
        if changed:
            await self._audit(person_id, actor, "status", f"{expected}->{status}", now)
        return changed > 0

    async def set_reachable(self, platform: str, chat: str, reachable: bool) -> bool:
        changed = await self._s.run(
            "UPDATE accounts SET reachable = ? WHERE platform = ? AND dm_chat = ? "
            "AND reachable <> ?",
            (int(reachable), platform, chat, int(reachable)),
        )
        return changed > 0

    async def is_unreachable(self, platform: str, chat: str) -> bool:
        row = await self._s.one(
            "SELECT 1 FROM accounts WHERE platform = ? AND dm_chat = ? AND reachable = 0",
            (platform, chat),
        )
        return row is not None

    async def evidence(
        self,
        person_id: int,
        socials: tuple[SocialClaim, ...],
        payout: SealedPayout | None,
    ) -> Evidence:
        claimed = []
        for social in socials:
            row = await self._s.one(
                "SELECT 1 FROM social_profiles WHERE network = ? AND handle = ? "
                "AND person_id <> ? LIMIT 1",
                (social.network, social.handle, person_id),
            )
            if row is not None:
                claimed.append(social)
        payout_reused = False
        if payout is not None:
            row = await self._s.one(
                "SELECT 1 FROM payouts WHERE fingerprint = ? AND person_id <> ? LIMIT 1",
                (payout.fingerprint, person_id),
            )
            payout_reused = row is not None
        return Evidence(claimed_elsewhere=tuple(claimed), payout_reused=payout_reused)

    async def _load(self, row: Row) -> Person:
        person_id = row["id"]
        socials = await self._s.all(
            "SELECT network, handle, followers, verified_at FROM social_profiles "
            "WHERE person_id = ? ORDER BY id",
            (person_id,),
        )
        niches = await self._s.all(
            "SELECT niche FROM person_niches WHERE person_id = ? ORDER BY niche", (person_id,)
        )
        payout = await self._s.one(
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
            status_by=row["status_by"],
            consent_version=row["consent_version"],
            consent_at=from_db_time(row["consent_at"]),
            created_at=from_db_time(row["created_at"]),
            socials=tuple(
                SocialClaim(
                    network=social["network"],
                    handle=social["handle"],
                    followers=social["followers"],
                    verified_at=maybe_time(social["verified_at"]),
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

    async def _write_socials(self, person_id: int, socials: tuple[SocialClaim, ...]) -> None:
        await self._s.many(
            "INSERT INTO social_profiles (person_id, network, handle, followers) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (person_id, network, handle) "
            "DO UPDATE SET followers = excluded.followers",
            [(person_id, s.network, s.handle, s.followers) for s in socials],
        )

    async def _replace_socials(self, person_id: int, socials: tuple[SocialClaim, ...]) -> None:
        """Keep the rows of claims that stay, so their verification survives an edit."""
        kept = {(s.network, s.handle) for s in socials}
        rows = await self._s.all(
            "SELECT id, network, handle FROM social_profiles WHERE person_id = ?", (person_id,)
        )
        await self._s.many(
            "DELETE FROM social_profiles WHERE id = ?",
            [(row["id"],) for row in rows if (row["network"], row["handle"]) not in kept],
        )
        await self._write_socials(person_id, socials)

    async def _add_flags(self, person_id: int, flags: Iterable[tuple[str, str]], now: str) -> None:
        """Raise each flag once: a unique index on open flags skips one raised before."""
        await self._s.many(
            "INSERT INTO review_flags (person_id, reason, detail, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(person_id, reason, detail, now) for reason, detail in flags],
        )

    async def _write_niches(self, person_id: int, niches: tuple[str, ...]) -> None:
        await self._s.many(
            "INSERT INTO person_niches (person_id, niche) VALUES (?, ?) "
            "ON CONFLICT (person_id, niche) DO NOTHING",
            [(person_id, niche) for niche in niches],
        )

    async def _write_payout(self, person_id: int, payout: SealedPayout, now: str) -> None:
        await self._s.run(
            "INSERT INTO payouts (person_id, method, details, masked, fingerprint, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET "
            "method = excluded.method, details = excluded.details, masked = excluded.masked, "
            "fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
            (person_id, payout.method, payout.sealed, payout.masked, payout.fingerprint, now),
        )

    async def _audit(self, person_id: int, actor: str, action: str, detail: str, now: str) -> None:
        await self._s.run(
            "INSERT INTO audit_log (person_id, actor, action, detail, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (person_id, actor, action, detail, now),
        )


def _account(row: Row) -> AccountLink:
    return AccountLink(
        platform=row["platform"],
        platform_user_id=row["platform_user_id"],
        dm_chat=row["dm_chat"],
        person_id=row["person_id"],
        reachable=bool(row["reachable"]),
    )
