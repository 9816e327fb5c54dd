"""Conversation state, written through on every step so a restart resumes where it was."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from storage.database import Database, from_db_time, to_db_time, utcnow
from storage.models import Conversation, ConversationKey


class ConversationRepository:
    def __init__(self, db: Database, ttl: timedelta) -> None:
        self._db = db
        self._ttl = ttl

    async def get(self, key: ConversationKey) -> Conversation | None:
        """The live conversation, or None; an expired one is returned so callers can say so."""
        row = await self._db.fetchone(
            "SELECT * FROM conversations WHERE platform = ? AND chat = ? AND user = ?",
            (key.platform, key.chat, key.user),
        )
        if row is None:
            return None
        return Conversation(
            key=key,
            flow=row["flow"],
            step=row["step"],
            data=json.loads(row["data"]),
            updated_at=from_db_time(row["updated_at"]),
            expires_at=from_db_time(row["expires_at"]),
        )

    async def save(self, conversation: Conversation, now: datetime | None = None) -> None:
        now = now or utcnow()
        key = conversation.key
        await self._db.execute(
            "INSERT INTO conversations (platform, chat, user, flow, step, data, updated_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (platform, chat, user) DO UPDATE SET flow = excluded.flow, "
            "step = excluded.step, data = excluded.data, updated_at = excluded.updated_at, "
            "expires_at = excluded.expires_at",
            (
                key.platform,
                key.chat,
                key.user,
                conversation.flow,
                conversation.step,
                json.dumps(conversation.data, ensure_ascii=False, separators=(",", ":")),
                to_db_time(now),
                to_db_time(now + self._ttl),
            ),
        )

    async def delete(self, key: ConversationKey) -> None:
        await self._db.execute(
            "DELETE FROM conversations WHERE platform = ? AND chat = ? AND user = ?",
            (key.platform, key.chat, key.user),
        )

    async def purge_expired(self, now: datetime | None = None) -> int:
        return await self._db.execute(
            "DELETE FROM conversations WHERE expires_at <= ?", (to_db_time(now or utcnow()),)
        )
