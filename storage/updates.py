"""Incoming update ids already handled, so a redelivered update is handled once."""

from __future__ import annotations

from datetime import datetime

from storage.database import Database, to_db_time, utcnow


class ProcessedUpdates:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(self, platform: str, update_id: str) -> bool:
        """True the first time an update is seen, False on every later delivery."""
        inserted = await self._db.execute(
            "INSERT OR IGNORE INTO processed_updates (platform, update_id, processed_at) "
            "VALUES (?, ?, ?)",
            (platform, update_id, to_db_time(utcnow())),
        )
        return inserted == 1

    async def seen(self, platform: str, update_id: str) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM processed_updates WHERE platform = ? AND update_id = ?",
            (platform, update_id),
        )
        return row is not None

    async def purge_before(self, moment: datetime) -> int:
        return await self._db.execute(
            "DELETE FROM processed_updates WHERE processed_at < ?", (to_db_time(moment),)
        )
