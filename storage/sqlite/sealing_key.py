"""The sealing key's check, and every sealed value, for sealing them again under a new key."""

from __future__ import annotations

import json
from datetime import datetime

from storage.base import SealingKeyRepository
from storage.models import ConversationKey, SealedPayout
from storage.sqlite.database import Session, to_db_time


class SqliteSealingKey(SealingKeyRepository):
    def __init__(self, session: Session) -> None:
        self._s = session

    async def recorded_check(self) -> str | None:
        row = await self._s.one("SELECT key_check FROM sealing_key WHERE id = 1")
        return None if row is None else str(row["key_check"])

    async def record_check(self, key_check: str, now: datetime) -> None:
        await self._s.run(
            "INSERT INTO sealing_key (id, key_check, recorded_at) VALUES (1, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET key_check = excluded.key_check, "
            "recorded_at = excluded.recorded_at",
            (key_check, to_db_time(now)),
        )

    async def sealed_sample(self) -> str | None:
        row = await self._s.one("SELECT details FROM payouts LIMIT 1")
        if row is not None:
            return str(row["details"])
        # Unfinished signups and edits keep the payout they were given in their JSON data.
        row = await self._s.one(
            "SELECT json_extract(data, '$.payout.sealed') AS sealed FROM conversations "
            "WHERE json_extract(data, '$.payout.sealed') IS NOT NULL LIMIT 1"
        )
        return None if row is None else str(row["sealed"])

    async def payouts(self) -> list[tuple[int, SealedPayout]]:
        rows = await self._s.all(
            "SELECT person_id, method, details, masked, fingerprint FROM payouts "
            "ORDER BY person_id"
        )
        return [
            (
                int(row["person_id"]),
                SealedPayout(
                    method=row["method"],
                    sealed=row["details"],
                    masked=row["masked"],
                    fingerprint=row["fingerprint"],
                ),
            )
            for row in rows
        ]

    async def replace_payout(self, person_id: int, payout: SealedPayout) -> None:
        await self._s.run(
            "UPDATE payouts SET details = ?, fingerprint = ? WHERE person_id = ?",
            (payout.sealed, payout.fingerprint, person_id),
        )

    async def draft_payouts(self) -> list[tuple[ConversationKey, SealedPayout]]:
        rows = await self._s.all(
            "SELECT platform, chat, user_id, json_extract(data, '$.payout') AS payout "
            "FROM conversations WHERE json_extract(data, '$.payout.sealed') IS NOT NULL"
        )
        return [
            (
                ConversationKey(platform=row["platform"], chat=row["chat"], user=row["user_id"]),
                SealedPayout(**json.loads(row["payout"])),
            )
            for row in rows
        ]

    async def replace_draft_payout(self, key: ConversationKey, payout: SealedPayout) -> None:
        await self._s.run(
            "UPDATE conversations SET data = json_set(data, '$.payout', json(?)) "
            "WHERE platform = ? AND chat = ? AND user_id = ?",
            (payout.model_dump_json(), key.platform, key.chat, key.user),
        )
