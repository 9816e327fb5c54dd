"""Conversation state, written through on every step so a restart resumes where it was."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from storage.base import ConversationRepository
from storage.clock import utcnow
from storage.models import Conversation, ConversationKey
from storage.sqlite.database import Session, from_db_time, to_db_time


class SqliteConversations(ConversationRepository):
    def __init__(self, session: Session, ttl: timedelta) -> None:
        self._s = session
        self._ttl = ttl

    async def get(self, key: ConversationKey) -> Conversation | None:
        row = await self._s.one(
            "SELECT * FROM conversations WHERE platform = ? AND chat = ? AND user_id = ?",
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
        await self._s.run(
            "INSERT INTO conversations (platform, chat, user_id, flow, step, data, updated_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (platform, chat, user_id) DO UPDATE SET flow = excluded.flow, "
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
        await self._s.run(
            "DELETE FROM conversations WHERE platform = ? AND chat = ? AND user_id = ?",
            (key.platform, key.chat, key.user),
        )

    async def purge_expired(self, before: datetime, limit: int) -> int:
        return await self._s.run(
            "DELETE FROM conversations WHERE (platform, chat, user_id) IN (SELECT platform, "
            "chat, user_id FROM conversations WHERE expires_at <= ? LIMIT ?)",
            (to_db_time(before), limit),
        )

    async def open_chats(self, platform: str) -> list[str]:
        rows = await self._s.all(
            "SELECT DISTINCT chat FROM conversations WHERE platform = ? AND expires_at > ?",
            (platform, to_db_time(utcnow())),
        )
        return [row["chat"] for row in rows]
