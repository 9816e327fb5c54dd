"""Updates as received, stored before the platform is told they arrived."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.base import InboxRepository
from storage.models import InboxItem, NewInboxItem
from storage.sqlite.database import Database, Row, Session, from_db_time, to_db_time

# Values in one IN list, well under SQLite's and PostgreSQL's parameter limits.
_IN_LIMIT = 500


class SqliteInbox(InboxRepository):
    def __init__(self, session: Session, legacy_sources: frozenset[str] = frozenset()) -> None:
        self._s = session
        # Platforms with updates the first release handled (see migration 0002).
        self._legacy = legacy_sources

    async def add_many(self, items: Sequence[NewInboxItem]) -> list[InboxItem]:
        if not items:
            return []
        # Two statements for the whole batch, whatever its size: one insert, one look back.
        await self._s.many(
            "INSERT INTO inbox (source, update_id, sender, payload, next_try_at, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, update_id) DO NOTHING",
            [
                (
                    item.source,
                    item.update_id,
                    item.sender,
                    item.payload,
                    to_db_time(item.received_at),
                    to_db_time(item.received_at),
                )
                for item in items
            ],
        )
        stored: list[InboxItem] = []
        for source in {item.source for item in items}:
            ids = [item.update_id for item in items if item.source == source]
            for start in range(0, len(ids), _IN_LIMIT):
                chunk = ids[start : start + _IN_LIMIT]
                marks = ", ".join("?" for _ in chunk)
                platform = source.partition(":")[0]
                if platform in self._legacy and platform != source:
                    await self._s.run(
                        "UPDATE inbox SET status = 'handled', handled_at = received_at "  # noqa: S608
                        f"WHERE source = ? AND update_id IN ({marks}) AND status = 'pending' "
                        "AND attempts = 0 AND EXISTS (SELECT 1 FROM inbox AS old "
                        "WHERE old.source = ? AND old.update_id = inbox.update_id)",
                        (source, *chunk, platform),
                    )
                rows = await self._s.all(
                    "SELECT * FROM inbox WHERE source = ? "  # noqa: S608 - placeholders only
                    f"AND update_id IN ({marks}) AND status = 'pending' AND attempts = 0",
                    (source, *chunk),
                )
                stored.extend(_item(row) for row in rows)
        stored.sort(key=lambda item: item.id)
        return stored

    async def unhandled(self, limit: int, after_id: int = 0) -> list[InboxItem]:
        rows = await self._s.all(
            "SELECT * FROM inbox WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [_item(row) for row in rows]

    async def mark_handled(self, item_id: int, now: datetime) -> None:
        await self._s.run(
            "UPDATE inbox SET status = 'handled', handled_at = ?, payload = '' WHERE id = ?",
            (to_db_time(now), item_id),
        )

    async def retry_later(self, item_id: int, error: str, at: datetime) -> int:
        row = await self._s.one(
            "UPDATE inbox SET attempts = attempts + 1, last_error = ?, next_try_at = ? "
            "WHERE id = ? RETURNING attempts",
            (error[:500], to_db_time(at), item_id),
        )
        return int(row["attempts"]) if row else 0

    async def set_aside(self, item_id: int, error: str) -> None:
        await self._s.run(
            "UPDATE inbox SET status = 'dead', attempts = attempts + 1, last_error = ? "
            "WHERE id = ?",
            (error[:500], item_id),
        )

    async def counts(self) -> dict[str, int]:
        rows = await self._s.all("SELECT status, COUNT(*) AS n FROM inbox GROUP BY status")
        return {row["status"]: row["n"] for row in rows}

    async def dead_letters(self, limit: int) -> list[InboxItem]:
        rows = await self._s.all(
            "SELECT * FROM inbox WHERE status = 'dead' ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [_item(row) for row in rows]

    async def last_update_id(self, source: str, chat_key: str) -> str | None:
        row = await self._s.one(
            "SELECT update_id FROM inbox WHERE source = ? AND sender = ? ORDER BY id DESC LIMIT 1",
            (source, chat_key),
        )
        return str(row["update_id"]) if row else None

    async def purge_handled(self, before: datetime, limit: int) -> int:
        return await self._s.run(
            "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE status = 'handled' "
            "AND handled_at < ? LIMIT ?)",
            (to_db_time(before), limit),
        )


def _item(row: Row) -> InboxItem:
    return InboxItem(
        id=row["id"],
        source=row["source"],
        update_id=row["update_id"],
        sender=row["sender"],
        payload=row["payload"],
        received_at=from_db_time(row["received_at"]),
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
    )


async def legacy_sources(db: Database) -> frozenset[str]:
    """Sources named by a bare platform: the first release's handled updates, carried over by
    migration 0002. Sources are walked through the unique index, one step per source."""
    found: set[str] = set()
    after = ""
    while True:
        row = await db.fetchone(
            "SELECT source FROM inbox WHERE source > ? ORDER BY source LIMIT 1", (after,)
        )
        if row is None:
            return frozenset(source for source in found if ":" not in source)
        after = row["source"]
        found.add(after)
