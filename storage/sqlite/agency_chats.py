"""Groups and channels linked as an agency's broadcast targets, and the posts made there."""

from __future__ import annotations

from datetime import datetime

from storage.base import AgencyChatRepository
from storage.models import AgencyChat, CampaignPost
from storage.sqlite.database import Row, Session, from_db_time, to_db_time


class SqliteAgencyChats(AgencyChatRepository):
    def __init__(self, session: Session) -> None:
        self._s = session

    async def link(
        self,
        agency_id: int,
        platform: str,
        chat: str,
        title: str,
        linked_by: str,
        now: datetime,
        language: str = "en",
    ) -> AgencyChat | None:
        # Linking again refreshes the title and language; a chat another agency holds stays
        # theirs.
        row = await self._s.one(
            "INSERT INTO agency_chats (agency_id, platform, chat, title, linked_by, linked_at, "
            "language) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (platform, chat) DO UPDATE SET "
            "title = excluded.title, language = excluded.language "
            "WHERE agency_chats.agency_id = excluded.agency_id RETURNING *",
            (agency_id, platform, chat, title, linked_by, to_db_time(now), language),
        )
        return _chat(row) if row else None

    async def unlink(self, agency_id: int, platform: str, chat: str) -> bool:
        changed = await self._s.run(
            "DELETE FROM agency_chats WHERE agency_id = ? AND platform = ? AND chat = ?",
            (agency_id, platform, chat),
        )
        return changed > 0

    async def of_agency(self, agency_id: int) -> list[AgencyChat]:
        rows = await self._s.all(
            "SELECT * FROM agency_chats WHERE agency_id = ? ORDER BY id", (agency_id,)
        )
        return [_chat(row) for row in rows]

    async def get(self, platform: str, chat: str) -> AgencyChat | None:
        row = await self._s.one(
            "SELECT * FROM agency_chats WHERE platform = ? AND chat = ?", (platform, chat)
        )
        return _chat(row) if row else None

    async def move(self, platform: str, old_chat: str, new_chat: str) -> bool:
        changed = await self._s.run(
            "UPDATE agency_chats SET chat = ? WHERE platform = ? AND chat = ? "
            "AND NOT EXISTS (SELECT 1 FROM agency_chats AS moved "
            "WHERE moved.platform = ? AND moved.chat = ?)",
            (new_chat, platform, old_chat, platform, new_chat),
        )
        return changed > 0

    async def record_post(
        self, campaign_id: int, agency_chat_id: int, message_id: str, now: datetime
    ) -> None:
        await self._s.run(
            "INSERT INTO campaign_posts (campaign_id, agency_chat_id, message_id, posted_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (campaign_id, agency_chat_id) DO UPDATE SET "
            "message_id = excluded.message_id, posted_at = excluded.posted_at",
            (campaign_id, agency_chat_id, message_id, to_db_time(now)),
        )

    async def posts(self, campaign_id: int) -> list[CampaignPost]:
        rows = await self._s.all(
            "SELECT * FROM campaign_posts WHERE campaign_id = ? ORDER BY agency_chat_id",
            (campaign_id,),
        )
        return [
            CampaignPost(
                campaign_id=row["campaign_id"],
                agency_chat_id=row["agency_chat_id"],
                message_id=row["message_id"],
                posted_at=from_db_time(row["posted_at"]),
            )
            for row in rows
        ]


def _chat(row: Row) -> AgencyChat:
    return AgencyChat(
        id=row["id"],
        agency_id=row["agency_id"],
        platform=row["platform"],
        chat=row["chat"],
        title=row["title"],
        linked_by=row["linked_by"],
        linked_at=from_db_time(row["linked_at"]),
        language=row["language"],
    )
