"""Agencies, their admins and the invites that make admins."""

from __future__ import annotations

import hashlib
from datetime import datetime

from storage.base import AgencyRepository
from storage.clock import utcnow
from storage.models import Agency, AgencyAdmin, AgencyListing, Redemption
from storage.sqlite.database import Row, Session, from_db_time, to_db_time


def code_hash(code: str) -> str:
    """Codes are random and long, so an unsalted hash is enough to make a stolen copy of the
    database useless for joining an agency."""
    return hashlib.sha256(code.encode()).hexdigest()


class SqliteAgencies(AgencyRepository):
    def __init__(self, session: Session) -> None:
        self._s = session

    async def create(self, name: str) -> Agency:
        row = await self._s.one(
            "INSERT INTO agencies (name, created_at) VALUES (?, ?) RETURNING *",
            (name, to_db_time(utcnow())),
        )
        assert row is not None
        return _agency(row)

    async def get(self, agency_id: int) -> Agency | None:
        row = await self._s.one("SELECT * FROM agencies WHERE id = ?", (agency_id,))
        return _agency(row) if row else None

    async def all(self) -> list[AgencyListing]:
        rows = await self._s.all(
            "SELECT agencies.*, "
            "(SELECT COUNT(*) FROM agency_admins WHERE agency_id = agencies.id) AS admins, "
            "(SELECT COUNT(*) FROM agency_invites WHERE agency_id = agencies.id "
            "AND used_at IS NULL AND expires_at > ?) AS open_invites "
            "FROM agencies ORDER BY id",
            (to_db_time(utcnow()),),
        )
        return [
            AgencyListing(
                agency=_agency(row), admins=row["admins"], open_invites=row["open_invites"]
            )
            for row in rows
        ]

    async def create_invite(
        self, agency_id: int, code: str, created_by: str, expires_at: datetime
    ) -> None:
        await self._s.run(
            "INSERT INTO agency_invites (code_hash, agency_id, created_by, created_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?)",
            (code_hash(code), agency_id, created_by, to_db_time(utcnow()), to_db_time(expires_at)),
        )

    async def redeem_invite(
        self, code: str, platform: str, platform_user_id: str, now: datetime
    ) -> Redemption:
        hashed, at = code_hash(code), to_db_time(now)
        # The compare-and-set: of two people sending one code, the second updates nothing.
        used = await self._s.one(
            "UPDATE agency_invites SET used_at = ?, used_by = ? "
            "WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? "
            "RETURNING id, agency_id",
            (at, f"{platform}:{platform_user_id}", hashed, at),
        )
        if used is None:
            return await self._why_not(hashed, at)
        agency = await self.get(used["agency_id"])
        assert agency is not None
        joined = await self._s.one(
            "INSERT INTO agency_admins (agency_id, platform, platform_user_id, added_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (platform, platform_user_id) DO NOTHING "
            "RETURNING agency_id",
            (agency.id, platform, platform_user_id, at),
        )
        if joined is not None:
            return Redemption(outcome="joined", agency=agency)
        # Already an admin: the code stays unused, for whoever it was meant for.
        await self._s.run(
            "UPDATE agency_invites SET used_at = NULL, used_by = NULL WHERE id = ?",
            (used["id"],),
        )
        current = await self.agency_of(platform, platform_user_id)
        same = current is not None and current.id == agency.id
        return Redemption(outcome="already_admin" if same else "admin_elsewhere", agency=agency)

    async def void_invite(self, code: str, by: str, now: datetime) -> int | None:
        at = to_db_time(now)
        row = await self._s.one(
            "UPDATE agency_invites SET used_at = ?, used_by = ? "
            "WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING agency_id",
            (at, by, code_hash(code), at),
        )
        return int(row["agency_id"]) if row else None

    async def _why_not(self, hashed: str, at: str) -> Redemption:
        row = await self._s.one(
            "SELECT agency_id, expires_at, used_at FROM agency_invites WHERE code_hash = ?",
            (hashed,),
        )
        if row is None:
            return Redemption(outcome="unknown")
        agency = await self.get(row["agency_id"])
        return Redemption(outcome="used" if row["used_at"] else "expired", agency=agency)

    async def admins(self, agency_id: int) -> list[AgencyAdmin]:
        rows = await self._s.all(
            "SELECT * FROM agency_admins WHERE agency_id = ? ORDER BY id", (agency_id,)
        )
        return [_admin(row) for row in rows]

    async def agency_of(self, platform: str, platform_user_id: str) -> Agency | None:
        row = await self._s.one(
            "SELECT agencies.* FROM agencies "
            "JOIN agency_admins ON agency_admins.agency_id = agencies.id "
            "WHERE agency_admins.platform = ? AND agency_admins.platform_user_id = ?",
            (platform, platform_user_id),
        )
        return _agency(row) if row else None

    async def is_admin(self, agency_id: int, platform: str, platform_user_id: str) -> bool:
        row = await self._s.one(
            "SELECT 1 FROM agency_admins "
            "WHERE agency_id = ? AND platform = ? AND platform_user_id = ?",
            (agency_id, platform, platform_user_id),
        )
        return row is not None

    async def set_offers_to_admins(self, agency_id: int, allowed: bool) -> Agency | None:
        row = await self._s.one(
            "UPDATE agencies SET offers_to_admins = ? WHERE id = ? RETURNING *",
            (int(allowed), agency_id),
        )
        return _agency(row) if row else None


def _agency(row: Row) -> Agency:
    return Agency(
        id=row["id"],
        name=row["name"],
        created_at=from_db_time(row["created_at"]),
        offers_to_admins=bool(row["offers_to_admins"]),
    )


def _admin(row: Row) -> AgencyAdmin:
    return AgencyAdmin(
        agency_id=row["agency_id"],
        platform=row["platform"],
        platform_user_id=row["platform_user_id"],
        added_at=from_db_time(row["added_at"]),
    )
