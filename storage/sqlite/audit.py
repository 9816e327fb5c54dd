"""The audit log: who did what, to what, when, and whether it was allowed."""

from __future__ import annotations

from storage.base import AuditRepository
from storage.clock import utcnow
from storage.models import AuditEntry, NewAuditEntry
from storage.sqlite.database import Row, Session, from_db_time, to_db_time


class SqliteAudit(AuditRepository):
    def __init__(self, session: Session) -> None:
        self._s = session

    async def record(self, entry: NewAuditEntry) -> None:
        await self._s.run(
            "INSERT INTO audit_log (actor, action, outcome, target, agency_id, person_id, "
            "detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.actor,
                entry.action,
                entry.outcome,
                entry.target,
                entry.agency_id,
                entry.person_id,
                entry.detail,
                to_db_time(utcnow()),
            ),
        )

    async def tail(self, limit: int, *, agency_id: int | None = None) -> list[AuditEntry]:
        rows = await self._s.all(
            "SELECT * FROM audit_log WHERE ? IS NULL OR agency_id = ? ORDER BY id DESC LIMIT ?",
            (agency_id, agency_id, limit),
        )
        return [_entry(row) for row in reversed(rows)]


def _entry(row: Row) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        created_at=from_db_time(row["created_at"]),
        actor=row["actor"],
        action=row["action"],
        outcome=row["outcome"],
        target=row["target"],
        agency_id=row["agency_id"],
        person_id=row["person_id"],
        detail=row["detail"],
    )
