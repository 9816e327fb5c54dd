"""How each person wants to hear of new offers: instantly, in a daily digest, or not."""

from __future__ import annotations

from datetime import datetime

from storage.base import AlertSettingsRepository
from storage.models import AlertSettings
from storage.sqlite.database import Row, Session, to_db_time


class SqliteAlertSettings(AlertSettingsRepository):
    def __init__(self, session: Session) -> None:
        self._s = session

    async def get(self, person_id: int) -> AlertSettings:
        row = await self._s.one("SELECT * FROM alert_settings WHERE person_id = ?", (person_id,))
        return _settings(row) if row is not None else AlertSettings(person_id=person_id)

    async def save(self, settings: AlertSettings, now: datetime) -> None:
        await self._s.run(
            "INSERT INTO alert_settings (person_id, mode, digest_hour, quiet_start, quiet_end, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET "
            "mode = excluded.mode, digest_hour = excluded.digest_hour, "
            "quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end, "
            "updated_at = excluded.updated_at",
            (
                settings.person_id,
                settings.mode,
                settings.digest_hour,
                settings.quiet_start,
                settings.quiet_end,
                to_db_time(now),
            ),
        )

    async def mark_digest_sent(self, person_id: int, local_date: str, now: datetime) -> bool:
        row = await self._s.one(
            "INSERT INTO alert_settings (person_id, digest_sent_on, updated_at) "
            "VALUES (?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET "
            "digest_sent_on = excluded.digest_sent_on, updated_at = excluded.updated_at "
            "WHERE alert_settings.digest_sent_on IS DISTINCT FROM excluded.digest_sent_on "
            "RETURNING person_id",
            (person_id, local_date, to_db_time(now)),
        )
        return row is not None

    async def digest_hours(self) -> list[tuple[str, int]]:
        rows = await self._s.all(
            "SELECT DISTINCT people.timezone, alert_settings.digest_hour FROM alert_settings "
            "JOIN people ON people.id = alert_settings.person_id "
            "WHERE alert_settings.mode = 'digest' AND people.status = 'approved' "
            "ORDER BY people.timezone, alert_settings.digest_hour"
        )
        return [(str(row["timezone"]), int(row["digest_hour"])) for row in rows]

    async def digests_due(
        self, timezone: str, digest_hour: int, local_date: str, after_person_id: int, limit: int
    ) -> list[AlertSettings]:
        rows = await self._s.all(
            "SELECT alert_settings.* FROM alert_settings "
            "JOIN people ON people.id = alert_settings.person_id "
            "WHERE alert_settings.mode = 'digest' AND alert_settings.digest_hour = ? "
            "AND people.timezone = ? AND people.status = 'approved' "
            "AND alert_settings.digest_sent_on IS DISTINCT FROM ? "
            "AND alert_settings.person_id > ? ORDER BY alert_settings.person_id LIMIT ?",
            (digest_hour, timezone, local_date, after_person_id, limit),
        )
        return [_settings(row) for row in rows]


def _settings(row: Row) -> AlertSettings:
    return AlertSettings(
        person_id=row["person_id"],
        mode=row["mode"],
        digest_hour=row["digest_hour"],
        quiet_start=row["quiet_start"],
        quiet_end=row["quiet_end"],
        digest_sent_on=row["digest_sent_on"],
    )
