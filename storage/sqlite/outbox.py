"""The deliveries table: every message kolbot sends, leased while in flight."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal

from storage.base import OutboxRepository
from storage.clock import utcnow
from storage.models import (
    AlertSettings,
    Delivery,
    DeliveryOutcome,
    NewDelivery,
    QuietHeld,
    SendGroup,
)
from storage.sqlite.database import Row, Session, from_db_time, maybe_time, to_db_time

# Values in one IN list, well under SQLite's and PostgreSQL's parameter limits.
_IN_LIMIT = 500
# Alert settings of someone who never changed them (the table's defaults).
_NEVER_SET = AlertSettings(person_id=0)
_ALERT_DEFAULTS = (
    _NEVER_SET.mode,
    _NEVER_SET.digest_hour,
    _NEVER_SET.quiet_start,
    _NEVER_SET.quiet_end,
)
# Lower than any priority a row can have (a signed 64-bit integer).
_BELOW_ANY = -(2**63)

# A chat's row may go only when no earlier row of that chat is in flight or waiting, unless
# that one waits for the end of its person's quiet hours: a time they chose heads nothing,
# so what is due goes past it. Whatever waits for the platform (a backoff, a 429, rows handed
# back behind a failed one) keeps the chat's order. Nothing that must follow a held card can
# overtake it: an edit needs the id of the card as sent, and a withdrawal ends the held row
# itself. A campaign's pause needs no exception: its rows wait at a priority behind any other.
_HEAD_OF_CHAT = (
    "NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.platform = d.platform AND e.chat = d.chat "
    "AND (e.status = 'sending' OR (e.status = 'pending' AND e.next_attempt_at > ? "
    "AND e.quiet = 0)) "
    "AND (e.priority < d.priority OR (e.priority = d.priority AND e.id < d.id)))"
)


# Whether a new row's chat refused us, and who may lease it at once: the caller, unless an
# earlier row of that chat that goes first waits in the table or is in another process's hands
# (then the new one waits its turn too). A reply goes past bulk rows waiting for their time.
_LEASABLE = (
    "SELECT b.blocked, CASE WHEN b.blocked OR b.behind THEN NULL ELSE b.owner END AS owner "
    "FROM (SELECT ? AS owner, "
    "EXISTS (SELECT 1 FROM accounts WHERE platform = ? AND dm_chat = ? AND reachable = 0) "
    "AS blocked, "
    "EXISTS (SELECT 1 FROM deliveries e WHERE e.platform = ? AND e.chat = ? "
    "AND ((e.status = 'pending' AND e.priority <= ?) "
    "OR (e.status = 'sending' AND e.lease_owner <> ?))) AS behind"
    ") AS b"
)


# Chats of a platform whose head row waits out a backoff, and until when, soonest first.
_BACKING_OFF = (
    "SELECT DISTINCT chat, next_attempt_at FROM deliveries WHERE status = 'pending' "
    "AND failing_since IS NOT NULL AND platform = ? AND next_attempt_at > ? "
    "ORDER BY next_attempt_at"
)


_INSERT = (
    "INSERT INTO deliveries (dedupe_key, platform, chat, payload, ref, priority, "  # noqa: S608
    "collapse_key, quiet, status, lease_owner, lease_until, next_attempt_at, created_at, "
    "finished_at, last_error) "
    "SELECT ?, ?, ?, ?, ?, ?, ?, ?, "
    "CASE WHEN u.blocked THEN 'blocked' WHEN u.owner IS NULL THEN 'pending' "
    "ELSE 'sending' END, "
    "u.owner, CASE WHEN u.owner IS NOT NULL THEN ? END, ?, ?, "
    "CASE WHEN u.blocked THEN ? END, "
    "CASE WHEN u.blocked THEN 'the chat is unreachable' END "
    f"FROM ({_LEASABLE}) AS u WHERE true "
    "ON CONFLICT (dedupe_key) DO NOTHING RETURNING *"
)


class SqliteOutbox(OutboxRepository):
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(
        self, deliveries: Iterable[NewDelivery], *, lease: tuple[str, datetime] | None = None
    ) -> list[Delivery]:
        now = to_db_time(utcnow())
        owner, until = (lease[0], to_db_time(lease[1])) if lease else (None, None)
        added = []
        for new in deliveries:
            if new.collapse_key is not None:
                await self._s.run(
                    "UPDATE deliveries SET status = 'sent', finished_at = ?, "
                    "last_error = 'superseded by a later edit' "
                    "WHERE collapse_key = ? AND status = 'pending'",
                    (now, new.collapse_key),
                )
            # A row that must wait (quiet hours) is nobody's to send at once.
            waits = new.next_attempt_at is not None and to_db_time(new.next_attempt_at) > now
            row = await self._s.one(
                _INSERT, _insert_values(new, now, None if waits else owner, until)
            )
            if row is not None:
                added.append(_delivery(row))
        return added

    async def enqueue(self, deliveries: Sequence[NewDelivery]) -> int:
        now = to_db_time(utcnow())
        before = await self._s.one("SELECT total_changes() AS n")
        await self._s.many(
            _INSERT.removesuffix(" RETURNING *"),
            [_insert_values(new, now, None, None) for new in deliveries],
        )
        after = await self._s.one("SELECT total_changes() AS n")
        assert before is not None
        assert after is not None
        return int(after["n"]) - int(before["n"])

    async def claim(
        self, owner: str, until: datetime, now: datetime, limit: int, platforms: Sequence[str]
    ) -> list[Delivery]:
        if not platforms:
            return []
        moment = to_db_time(now)
        # Leases that ran out belong to nobody: their rows are due again.
        await self._s.run(
            "UPDATE deliveries SET status = 'pending', lease_owner = NULL, lease_until = NULL "
            "WHERE status = 'sending' AND lease_until <= ? AND lease_owner <> ?",
            (moment, owner),
        )
        picked = await self._due(moment, limit, platforms)
        rows: list[Row] = []
        for start in range(0, len(picked), _IN_LIMIT):
            chunk = picked[start : start + _IN_LIMIT]
            marks = ", ".join("?" for _ in chunk)
            # A row in hand is held no more: should it come back, it keeps its chat's order.
            rows += await self._s.all(
                "UPDATE deliveries SET status = 'sending', lease_owner = ?, "  # noqa: S608
                f"lease_until = ?, quiet = 0 WHERE id IN ({marks}) RETURNING *",
                (owner, to_db_time(until), *chunk),
            )
        return sorted((_delivery(row) for row in rows), key=lambda d: (d.priority, d.id))

    async def _due(self, moment: str, limit: int, platforms: Sequence[str]) -> list[int]:
        """Ids of due rows, lowest priority value first, then earliest due: one index range
        per platform and priority, found by stepping from one priority to the next."""
        picked: list[int] = []
        floor: int | None = None
        while len(picked) < limit:
            lowest: list[int] = []
            for platform in platforms:
                row = await self._s.one(
                    "SELECT MIN(priority) AS p FROM deliveries WHERE status = 'pending' "
                    "AND platform = ? AND priority > ?",
                    (platform, _BELOW_ANY if floor is None else floor),
                )
                if row is not None and row["p"] is not None:
                    lowest.append(row["p"])
            if not lowest:
                break
            floor = min(lowest)
            for platform in platforms:
                rows = await self._s.all(
                    "SELECT d.id FROM deliveries d WHERE d.status = 'pending' "  # noqa: S608
                    "AND d.platform = ? AND d.priority = ? AND d.next_attempt_at <= ? "
                    f"AND {_HEAD_OF_CHAT} ORDER BY d.next_attempt_at, d.id LIMIT ?",
                    (platform, floor, moment, moment, limit - len(picked)),
                )
                picked += [row["id"] for row in rows]
                if len(picked) >= limit:
                    break
        return picked

    async def finish(self, outcomes: Sequence[DeliveryOutcome], owner: str) -> None:
        now = to_db_time(utcnow())
        done = [o for o in outcomes if o.status != "pending"]
        again = [o for o in outcomes if o.status == "pending"]
        await self._s.many(
            "UPDATE deliveries SET status = ?, message_id = ?, "
            "last_error = COALESCE(?, last_error), attempts = ?, "
            "lost_answers = COALESCE(?, lost_answers), "
            "parts_sent = ?, finished_at = ?, lease_owner = NULL, lease_until = NULL "
            "WHERE id = ? AND status = 'sending' AND lease_owner = ?",
            [
                (
                    o.status,
                    o.message_id,
                    o.error,
                    o.attempts,
                    o.lost_answers,
                    o.parts_sent,
                    now,
                    o.id,
                    owner,
                )
                for o in done
            ],
        )
        await self._s.many(
            "UPDATE deliveries SET status = 'pending', last_error = COALESCE(?, last_error), "
            "attempts = ?, lost_answers = COALESCE(?, lost_answers), parts_sent = ?, "
            "next_attempt_at = ?, failing_since = ?, quiet = 0, lease_owner = NULL, "
            "lease_until = NULL WHERE id = ? AND status = 'sending' AND lease_owner = ?",
            [
                (
                    o.error,
                    o.attempts,
                    o.lost_answers,
                    o.parts_sent,
                    to_db_time(o.next_attempt_at or utcnow()),
                    to_db_time(o.failing_since) if o.failing_since else None,
                    o.id,
                    owner,
                )
                for o in again
            ],
        )

    async def enqueue_offers(
        self,
        campaign_id: int,
        first_offer_id: int,
        last_offer_id: int,
        priority: int,
        later: Sequence[tuple[SendGroup, datetime]],
    ) -> int:
        now = to_db_time(utcnow())
        # Who waits, as rows to join: (NULL, ...) when nobody does, as VALUES needs a row.
        groups: list[tuple[object, ...]] = [
            (g.timezone, g.mode, g.digest_hour, g.quiet_start, g.quiet_end, to_db_time(at))
            for g, at in later
        ] or [(None, None, None, None, None, None)]
        marks = ", ".join("(?, ?, ?, ?, ?, ?)" for _ in groups)
        return await self._s.run(
            "WITH later (timezone, mode, digest_hour, quiet_start, quiet_end, due) "  # noqa: S608
            f"AS (VALUES {marks}) "
            "INSERT INTO deliveries (dedupe_key, platform, chat, ref, priority, status, "
            "next_attempt_at, quiet, created_at, finished_at, last_error) "
            # The keys of models.offer_delivery_key, the refs of an offer's card; a later time
            # is the end of the person's quiet hours (cards go to people on instant alerts).
            "SELECT 'offer:' || o.campaign_id || ':' || o.person_id, ac.platform, ac.dm_chat, "
            "'offer:' || o.id, ?, CASE WHEN ac.reachable THEN 'pending' ELSE 'blocked' END, "
            "COALESCE(l.due, ?), l.due IS NOT NULL, ?, "
            "CASE WHEN ac.reachable THEN NULL ELSE ? END, "
            "CASE WHEN ac.reachable THEN NULL ELSE 'the chat is unreachable' END "
            "FROM offers o JOIN people p ON p.id = o.person_id "
            "JOIN accounts ac ON ac.id = (SELECT a.id FROM accounts a "
            "WHERE a.person_id = o.person_id ORDER BY a.reachable DESC, a.id LIMIT 1) "
            "LEFT JOIN alert_settings al ON al.person_id = o.person_id "
            "LEFT JOIN later l ON l.timezone = p.timezone "
            "AND l.mode = COALESCE(al.mode, ?) AND l.digest_hour = COALESCE(al.digest_hour, ?) "
            "AND l.quiet_start = COALESCE(al.quiet_start, ?) "
            "AND l.quiet_end = COALESCE(al.quiet_end, ?) "
            "WHERE o.campaign_id = ? AND o.id BETWEEN ? AND ? "
            "AND COALESCE(al.mode, ?) = 'instant' "
            "ON CONFLICT (dedupe_key) DO NOTHING",
            (
                *(value for group in groups for value in group),
                priority,
                now,
                now,
                now,
                *_ALERT_DEFAULTS,
                campaign_id,
                first_offer_id,
                last_offer_id,
                _NEVER_SET.mode,
            ),
        )

    async def reschedule(
        self, due: Sequence[tuple[str, datetime]], priority: int, *, quiet: bool = False
    ) -> int:
        before = await self._s.one("SELECT total_changes() AS n")
        await self._s.many(
            "UPDATE deliveries SET next_attempt_at = ?, priority = ?, quiet = ? "
            "WHERE ref = ? AND status = 'pending'",
            [(to_db_time(at), priority, quiet, ref) for ref, at in due],
        )
        after = await self._s.one("SELECT total_changes() AS n")
        assert before is not None
        assert after is not None
        return int(after["n"]) - int(before["n"])

    async def quiet_rows(self, platform: str, chat: str) -> list[Delivery]:
        rows = await self._s.all(
            "SELECT * FROM deliveries WHERE platform = ? AND chat = ? AND status = 'pending' "
            "AND quiet = 1 ORDER BY priority, id",
            (platform, chat),
        )
        return [_delivery(row) for row in rows]

    async def retime(self, due: Sequence[tuple[int, datetime]], now: datetime) -> int:
        moment = to_db_time(now)
        before = await self._s.one("SELECT total_changes() AS n")
        await self._s.many(
            "UPDATE deliveries SET next_attempt_at = MAX(?, ?), quiet = ? > ? "
            "WHERE id = ? AND status = 'pending' AND quiet = 1",
            [(to_db_time(at), moment, to_db_time(at), moment, row_id) for row_id, at in due],
        )
        after = await self._s.one("SELECT total_changes() AS n")
        assert before is not None
        assert after is not None
        return int(after["n"]) - int(before["n"])

    async def withdraw_quiet(self, ids: Sequence[int], now: datetime) -> int:
        before = await self._s.one("SELECT total_changes() AS n")
        await self._s.many(
            "UPDATE deliveries SET status = 'sent', finished_at = ?, last_error = 'withdrawn' "
            "WHERE id = ? AND status = 'pending' AND quiet = 1",
            [(to_db_time(now), row_id) for row_id in ids],
        )
        after = await self._s.one("SELECT total_changes() AS n")
        assert before is not None
        assert after is not None
        return int(after["n"]) - int(before["n"])

    async def withdraw(self, refs: Sequence[str], now: datetime) -> int:
        before = await self._s.one("SELECT total_changes() AS n")
        await self._s.many(
            "UPDATE deliveries SET status = 'sent', finished_at = ?, last_error = 'withdrawn' "
            "WHERE ref = ? AND status = 'pending'",
            [(to_db_time(now), ref) for ref in refs],
        )
        after = await self._s.one("SELECT total_changes() AS n")
        assert before is not None
        assert after is not None
        return int(after["n"]) - int(before["n"])

    async def block_chat(self, platform: str, chat: str) -> int:
        return await self._s.run(
            "UPDATE deliveries SET status = 'blocked', finished_at = ?, "
            "last_error = 'the chat is unreachable' "
            "WHERE platform = ? AND chat = ? AND status = 'pending'",
            (to_db_time(utcnow()), platform, chat),
        )

    async def release(self, owners: Sequence[str]) -> int:
        released = 0
        for owner in owners:
            released += await self._s.run(
                "UPDATE deliveries SET status = 'pending', lease_owner = NULL, "
                "lease_until = NULL WHERE status = 'sending' AND lease_owner = ?",
                (owner,),
            )
        return released

    async def lease_owners(self) -> list[str]:
        rows = await self._s.all(
            "SELECT DISTINCT lease_owner FROM deliveries WHERE status = 'sending'"
        )
        return [row["lease_owner"] for row in rows if row["lease_owner"]]

    async def counts(self) -> list[tuple[str, str, int]]:
        rows = await self._s.all(
            "SELECT platform, status, COUNT(*) AS n FROM deliveries GROUP BY platform, status "
            "ORDER BY platform, status"
        )
        return [(row["platform"], row["status"], row["n"]) for row in rows]

    async def oldest_pending(self, now: datetime) -> datetime | None:
        row = await self._s.one(
            "SELECT MIN(created_at) AS oldest FROM deliveries WHERE (status = 'sending' "
            "OR (status = 'pending' AND NOT (quiet = 1 AND next_attempt_at > ?)))",
            (to_db_time(now),),
        )
        return maybe_time(row["oldest"]) if row else None

    async def held_for_quiet_hours(self, now: datetime) -> list[QuietHeld]:
        rows = await self._s.all(
            "SELECT platform, COUNT(*) AS n, MIN(next_attempt_at) AS first, "
            "MAX(next_attempt_at) AS last FROM deliveries WHERE status = 'pending' "
            "AND quiet = 1 AND next_attempt_at > ? GROUP BY platform ORDER BY platform",
            (to_db_time(now),),
        )
        return [
            QuietHeld(
                platform=row["platform"],
                rows=row["n"],
                first=from_db_time(row["first"]),
                last=from_db_time(row["last"]),
            )
            for row in rows
        ]

    async def retry(self, status: Literal["failed", "unconfirmed"], now: datetime) -> int:
        # An outage counted from before would give the row up again at its first failure. An
        # unconfirmed row keeps its lost answers: one retry sends it once more, and the next
        # lost answer leaves it unconfirmed again.
        return await self._s.run(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, attempts = 0, "
            "failing_since = NULL, created_at = ?, finished_at = NULL "
            "WHERE status = ?",
            (to_db_time(now), to_db_time(now), status),
        )

    async def hasten(self, platform: str, now: datetime, chats: int | None = None) -> list[str]:
        moment = to_db_time(now)
        # The rows handed back behind a chat's failed row wait exactly as long as it does.
        if chats is None:
            heads = await self._s.all(_BACKING_OFF, (platform, moment))
        else:
            heads = await self._s.all(f"{_BACKING_OFF} LIMIT ?", (platform, moment, chats))
        if heads:
            await self._s.many(
                "UPDATE deliveries SET next_attempt_at = ? WHERE platform = ? AND chat = ? "
                "AND status = 'pending' AND next_attempt_at = ? AND quiet = 0",
                [(moment, platform, head["chat"], head["next_attempt_at"]) for head in heads],
            )
        return list(dict.fromkeys(head["chat"] for head in heads))

    async def purge_done(self, before: datetime, limit: int) -> int:
        return await self._s.run(
            "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE status IN "
            "('sent', 'blocked', 'failed', 'unconfirmed') AND finished_at < ? LIMIT ?)",
            (to_db_time(before), limit),
        )


def _insert_values(
    new: NewDelivery, now: str, owner: str | None, until: str | None
) -> tuple[object, ...]:
    """The parameters of ``_INSERT``, in the order its placeholders appear."""
    due = to_db_time(new.next_attempt_at) if new.next_attempt_at is not None else now
    return (
        new.dedupe_key,
        new.platform,
        new.chat,
        new.payload,
        new.ref,
        new.priority,
        new.collapse_key,
        # Held only while there is something to wait for.
        new.quiet and due > now,
        until,
        due,
        now,
        now,
        owner,
        new.platform,
        new.chat,
        new.platform,
        new.chat,
        new.priority,
        owner,
    )


def _delivery(row: Row) -> Delivery:
    return Delivery(
        id=row["id"],
        dedupe_key=row["dedupe_key"],
        platform=row["platform"],
        chat=row["chat"],
        payload=row["payload"],
        ref=row["ref"],
        priority=row["priority"],
        collapse_key=row["collapse_key"],
        status=row["status"],
        attempts=row["attempts"],
        parts_sent=row["parts_sent"],
        created_at=from_db_time(row["created_at"]),
        next_attempt_at=from_db_time(row["next_attempt_at"]),
        failing_since=maybe_time(row["failing_since"]),
        lost_answers=row["lost_answers"],
        quiet=bool(row["quiet"]),
    )
