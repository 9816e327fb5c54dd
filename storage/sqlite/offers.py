"""Offers: one per influencer and campaign, with the atomic slot take."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.base import OfferRepository
from storage.models import (
    Acceptance,
    AlertSettings,
    Offer,
    OfferBatch,
    OfferCard,
    OfferMessage,
    OfferStatus,
    Recipient,
    SendGroup,
    SubmittedPost,
)
from storage.sqlite.database import Row, Session, from_db_time, maybe_time, to_db_time

_REMINDERS = {"48h": "reminded_48h_at", "2h": "reminded_2h_at"}

# Approved people a campaign (``c``) targets and has not offered itself to yet: its countries,
# one of its niches, its follower minimum over all their networks, and an account to send
# to; no admin of its agency, unless the agency allows it. A campaign with no countries (or
# niches) takes every one.
_TARGETED = (
    "p.status = 'approved' AND p.erased_at IS NULL "
    "AND (NOT EXISTS (SELECT 1 FROM campaign_countries cc WHERE cc.campaign_id = c.id) "
    "OR EXISTS (SELECT 1 FROM campaign_countries cc "
    "WHERE cc.campaign_id = c.id AND cc.country = p.country)) "
    "AND (NOT EXISTS (SELECT 1 FROM campaign_niches cn WHERE cn.campaign_id = c.id) "
    "OR EXISTS (SELECT 1 FROM person_niches pn JOIN campaign_niches cn "
    "ON cn.campaign_id = c.id AND cn.niche = pn.niche WHERE pn.person_id = p.id)) "
    "AND (c.min_followers = 0 OR (SELECT COALESCE(SUM(s.followers), 0) "
    "FROM social_profiles s WHERE s.person_id = p.id) >= c.min_followers) "
    "AND EXISTS (SELECT 1 FROM accounts ac WHERE ac.person_id = p.id) "
    "AND (NOT EXISTS (SELECT 1 FROM accounts ac JOIN agency_admins ad "
    "ON ad.platform = ac.platform AND ad.platform_user_id = ac.platform_user_id "
    "WHERE ac.person_id = p.id AND ad.agency_id = c.agency_id) "
    "OR EXISTS (SELECT 1 FROM agencies ag WHERE ag.id = c.agency_id AND ag.offers_to_admins = 1)) "
    "AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.campaign_id = c.id AND o.person_id = p.id)"
)
# Offers pushed to people (publishing, a newcomer's approval) skip those who turned alerts off.
_ALERTED = (
    " AND NOT EXISTS (SELECT 1 FROM alert_settings al "
    "WHERE al.person_id = p.id AND al.mode = 'off')"
)
_MATCHES = _TARGETED + _ALERTED

# Accepted offers whose ``column`` reminder is still due, by deadline; ``column`` comes from
# _REMINDERS, never from input. The accepted ones are read through their own index.
AWAITING_POST = (
    "SELECT offers.* FROM offers JOIN campaigns ON campaigns.id = offers.campaign_id "
    "WHERE offers.status = 'accepted' AND offers.{column} IS NULL "
    "AND campaigns.deadline > ? AND campaigns.deadline <= ? "
    "ORDER BY campaigns.deadline, offers.id LIMIT ?"
)

# What a person who never changed their alert settings has (the table's defaults).
_DEFAULT = AlertSettings(person_id=0)
_DEFAULTS = (_DEFAULT.mode, _DEFAULT.digest_hour, _DEFAULT.quiet_start, _DEFAULT.quiet_end)

# Who an offer goes to: the person's first account still reachable (else their first), and
# their alert settings (the defaults where they kept them).
_RECIPIENTS = (
    "SELECT o.id AS offer_id, o.person_id, p.language, p.timezone, ac.platform, ac.dm_chat, "
    "al.mode, al.digest_hour, al.quiet_start, al.quiet_end "
    "FROM offers o JOIN people p ON p.id = o.person_id "
    "JOIN accounts ac ON ac.id = (SELECT a.id FROM accounts a WHERE a.person_id = o.person_id "
    "ORDER BY a.reachable DESC, a.id LIMIT 1) "
    "LEFT JOIN alert_settings al ON al.person_id = o.person_id "
)


class SqliteOffers(OfferRepository):
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add_many(self, campaign_id: int, person_ids: Sequence[int], now: datetime) -> int:
        at = to_db_time(now)
        before = await self._changes()
        await self._s.many(
            "INSERT INTO offers (campaign_id, person_id, created_at, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (campaign_id, person_id) DO NOTHING",
            [(campaign_id, person_id, at, at) for person_id in person_ids],
        )
        return await self._changes() - before

    async def _changes(self) -> int:
        """Rows this connection has changed so far: a batch's new offers without counting
        the campaign's offers (a million of them) twice."""
        row = await self._s.one("SELECT total_changes() AS n")
        return int(row["n"]) if row else 0

    async def offer_matching(
        self, campaign_id: int, after_person_id: int, limit: int, now: datetime
    ) -> OfferBatch | None:
        at = to_db_time(now)
        # One statement per batch: offers come straight out of the match, in person order, so
        # the next batch carries on after the last person this one took.
        rows = await self._s.all(
            "INSERT INTO offers (campaign_id, person_id, created_at, updated_at) "  # noqa: S608
            "SELECT c.id, p.id, ?, ? FROM campaigns c JOIN people p ON p.id > ? "
            f"WHERE c.id = ? AND {_MATCHES} ORDER BY p.id LIMIT ? "
            "ON CONFLICT (campaign_id, person_id) DO NOTHING RETURNING id, person_id",
            (at, at, after_person_id, campaign_id, limit),
        )
        if not rows:
            return None
        ids = [int(row["id"]) for row in rows]
        return OfferBatch(
            first_offer_id=min(ids),
            last_offer_id=max(ids),
            last_person_id=max(int(row["person_id"]) for row in rows),
            offers=len(ids),
        )

    async def send_groups(
        self, campaign_id: int, first_offer_id: int, last_offer_id: int
    ) -> list[SendGroup]:
        rows = await self._s.all(
            "SELECT DISTINCT p.timezone, COALESCE(al.mode, ?) AS mode, "
            "COALESCE(al.digest_hour, ?) AS digest_hour, "
            "COALESCE(al.quiet_start, ?) AS quiet_start, COALESCE(al.quiet_end, ?) AS quiet_end "
            "FROM offers o JOIN people p ON p.id = o.person_id "
            "LEFT JOIN alert_settings al ON al.person_id = o.person_id "
            "WHERE o.campaign_id = ? AND o.id BETWEEN ? AND ?",
            (*_DEFAULTS, campaign_id, first_offer_id, last_offer_id),
        )
        return [
            SendGroup(
                row["timezone"],
                row["mode"],
                row["digest_hour"],
                row["quiet_start"],
                row["quiet_end"],
            )
            for row in rows
        ]

    async def offer_to(
        self, campaign_id: int, person_id: int, now: datetime, *, asked: bool = False
    ) -> Recipient | None:
        at = to_db_time(now)
        matches = _TARGETED if asked else _MATCHES
        made = await self._s.one(
            "INSERT INTO offers (campaign_id, person_id, created_at, updated_at) "  # noqa: S608
            "SELECT c.id, p.id, ?, ? FROM campaigns c JOIN people p ON p.id = ? "
            f"WHERE c.id = ? AND {matches} "
            "ON CONFLICT (campaign_id, person_id) DO NOTHING RETURNING id",
            (at, at, person_id, campaign_id),
        )
        if made is None:
            return None
        row = await self._s.one(_RECIPIENTS + "WHERE o.id = ?", (made["id"],))
        return _recipient(row) if row else None

    async def count_matching(self, campaign_id: int) -> int:
        row = await self._s.one(
            "SELECT COUNT(*) AS n FROM campaigns c JOIN people p "  # noqa: S608
            f"WHERE c.id = ? AND {_MATCHES}",
            (campaign_id,),
        )
        return int(row["n"]) if row else 0

    async def open_recipients(
        self, campaign_id: int, after_offer_id: int, limit: int
    ) -> list[Recipient]:
        rows = await self._s.all(
            _RECIPIENTS + "WHERE o.campaign_id = ? AND o.status = 'offered' AND o.id > ? "
            "ORDER BY o.id LIMIT ?",
            (campaign_id, after_offer_id, limit),
        )
        return [_recipient(row) for row in rows]

    async def cards(
        self,
        campaign_id: int,
        offer_ids: Sequence[int],
        sent_after: datetime,
        *,
        accepted: bool = True,
    ) -> list[OfferCard]:
        cards: list[OfferCard] = []
        since = to_db_time(sent_after)
        query = (
            "SELECT o.id AS offer_id, o.status, o.ref_code, o.promo_code, o.content_url, "
            "p.language, p.timezone, m.platform, m.chat, m.message_id "
            "FROM offers o JOIN offer_messages m ON m.offer_id = o.id "
            "JOIN people p ON p.id = o.person_id WHERE o.campaign_id = ? "
        )
        if accepted:
            taken = await self._s.all(
                query + "AND o.status IN ('accepted', 'submitted') ORDER BY o.id", (campaign_id,)
            )
            cards += [_card(row) for row in taken]
        for start in range(0, len(offer_ids), 500):
            chunk = offer_ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = await self._s.all(
                query + f"AND o.id IN ({marks}) AND m.sent_at >= ? ORDER BY o.id",
                (campaign_id, *chunk, since),
            )
            cards += [_card(row) for row in rows]
        return cards

    async def get(self, offer_id: int) -> Offer | None:
        row = await self._s.one("SELECT * FROM offers WHERE id = ?", (offer_id,))
        return _offer(row) if row else None

    async def of_campaign_person(self, campaign_id: int, person_id: int) -> Offer | None:
        row = await self._s.one(
            "SELECT * FROM offers WHERE campaign_id = ? AND person_id = ?",
            (campaign_id, person_id),
        )
        return _offer(row) if row else None

    async def of_person(
        self, person_id: int, statuses: Sequence[OfferStatus], limit: int = 50
    ) -> list[Offer]:
        if not statuses:
            return []
        marks = ", ".join("?" for _ in statuses)
        rows = await self._s.all(
            f"SELECT * FROM offers WHERE person_id = ? AND status IN ({marks}) "  # noqa: S608
            "ORDER BY id DESC LIMIT ?",
            (person_id, *statuses, limit),
        )
        return [_offer(row) for row in rows]

    async def accept(
        self, offer_id: int, person_id: int, ref_code: str, now: datetime
    ) -> Acceptance:
        at = to_db_time(now)
        # The slot first, as one compare-and-set on the campaign's count: the row lock (or
        # SQLite's one writer) orders the presses, and the count never passes the slots.
        # Cards go out while a campaign is still publishing: they can be accepted then too.
        slot = await self._s.one(
            "UPDATE campaigns SET slots_taken = slots_taken + 1, updated_at = ? "
            "WHERE id = (SELECT campaign_id FROM offers "
            "WHERE id = ? AND person_id = ? AND status = 'offered') "
            "AND status IN ('publishing', 'published') AND deadline > ? AND slots_taken < slots "
            "RETURNING slots - slots_taken AS slots_left",
            (at, offer_id, person_id, at),
        )
        if slot is None:
            return await self._refused(offer_id, person_id, at)
        taken = await self._s.one(
            "UPDATE offers SET status = 'accepted', ref_code = ?, accepted_at = ?, "
            "updated_at = ? WHERE id = ? AND status = 'offered' RETURNING *",
            (ref_code, at, at, offer_id),
        )
        if taken is None:
            # Another press on this very offer won between the two statements (possible only
            # where writers overlap): give the slot back.
            await self._s.run(
                "UPDATE campaigns SET slots_taken = slots_taken - 1 "
                "WHERE id = (SELECT campaign_id FROM offers WHERE id = ?)",
                (offer_id,),
            )
            return Acceptance(outcome="stale", offer=await self.get(offer_id))
        return Acceptance(
            outcome="accepted", offer=_offer(taken), slots_left=int(slot["slots_left"])
        )

    async def _refused(self, offer_id: int, person_id: int, at: str) -> Acceptance:
        offer = await self.get(offer_id)
        if offer is None or offer.person_id != person_id or offer.status != "offered":
            return Acceptance(
                outcome="stale", offer=offer if offer and offer.person_id == person_id else None
            )
        row = await self._s.one(
            "SELECT status, deadline, slots - slots_taken AS slots_left FROM campaigns "
            "WHERE id = ?",
            (offer.campaign_id,),
        )
        assert row is not None
        left = int(row["slots_left"])
        if row["status"] == "paused":
            return Acceptance(outcome="paused", offer=offer, slots_left=left)
        if row["status"] not in ("publishing", "published") or row["deadline"] <= at:
            return Acceptance(outcome="closed", offer=offer, slots_left=left)
        return Acceptance(outcome="full", offer=offer, slots_left=0)

    async def decline(
        self, offer_id: int, person_id: int, reason: str, note: str | None, now: datetime
    ) -> Offer | None:
        at = to_db_time(now)
        row = await self._s.one(
            "UPDATE offers SET status = 'declined', decline_reason = ?, decline_note = ?, "
            "declined_at = ?, updated_at = ? "
            "WHERE id = ? AND person_id = ? AND status = 'offered' RETURNING *",
            (reason, note, at, at, offer_id, person_id),
        )
        return _offer(row) if row else None

    async def submit(
        self,
        offer_id: int,
        person_id: int,
        content_url: str,
        now: datetime,
        content_handle: str | None = None,
    ) -> Offer | None:
        at = to_db_time(now)
        row = await self._s.one(
            "UPDATE offers SET status = 'submitted', content_url = ?, content_handle = ?, "
            "submitted_at = ?, updated_at = ? WHERE id = ? AND person_id = ? "
            "AND status IN ('accepted', 'submitted') RETURNING *",
            (content_url, content_handle, at, at, offer_id, person_id),
        )
        return _offer(row) if row else None

    async def posts(self, campaign_id: int, limit: int) -> list[SubmittedPost]:
        rows = await self._s.all(
            "SELECT o.id, o.person_id, p.display_name, o.content_url, o.content_handle, "
            "o.submitted_at FROM offers o JOIN people p ON p.id = o.person_id "
            "WHERE o.campaign_id = ? AND o.status = 'submitted' "
            "ORDER BY o.submitted_at DESC, o.id DESC LIMIT ?",
            (campaign_id, limit),
        )
        return [
            SubmittedPost(
                offer_id=row["id"],
                person_id=row["person_id"],
                display_name=row["display_name"],
                content_url=row["content_url"],
                content_handle=row["content_handle"],
                submitted_at=from_db_time(row["submitted_at"]),
            )
            for row in rows
        ]

    async def set_promo_code(self, offer_id: int, code: str) -> bool:
        row = await self._s.one(
            "UPDATE offers SET promo_code = ? WHERE id = ? AND status IN ('accepted', "
            "'submitted') AND NOT EXISTS (SELECT 1 FROM offers AS other "
            "WHERE other.campaign_id = offers.campaign_id AND other.promo_code = ? "
            "AND other.id <> offers.id) RETURNING id",
            (code, offer_id, code),
        )
        return row is not None

    async def withdraw_open(
        self, campaign_id: int, now: datetime, after_offer_id: int = 0, limit: int | None = None
    ) -> list[int]:
        at = to_db_time(now)
        rows = await self._s.all(
            "UPDATE offers SET status = 'withdrawn', withdrawn_at = ?, updated_at = ? "
            "WHERE id IN (SELECT id FROM offers WHERE campaign_id = ? AND status = 'offered' "
            "AND id > ? ORDER BY id LIMIT ?) RETURNING id",
            (at, at, campaign_id, after_offer_id, -1 if limit is None else limit),
        )
        return sorted(int(row["id"]) for row in rows)

    async def record_message(
        self, offer_id: int, platform: str, chat: str, message_id: str, now: datetime
    ) -> None:
        await self._s.run(
            "INSERT INTO offer_messages (offer_id, platform, chat, message_id, sent_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (offer_id, platform, chat) DO UPDATE SET "
            "message_id = excluded.message_id, sent_at = excluded.sent_at",
            (offer_id, platform, chat, message_id, to_db_time(now)),
        )

    async def messages(self, offer_id: int) -> list[OfferMessage]:
        rows = await self._s.all(
            "SELECT * FROM offer_messages WHERE offer_id = ? ORDER BY sent_at", (offer_id,)
        )
        return [
            OfferMessage(
                offer_id=row["offer_id"],
                platform=row["platform"],
                chat=row["chat"],
                message_id=row["message_id"],
                sent_at=from_db_time(row["sent_at"]),
            )
            for row in rows
        ]

    async def mark_reminded(self, offer_id: int, which: str, now: datetime) -> bool:
        column = _REMINDERS[which]
        changed = await self._s.run(
            # ``column`` comes from _REMINDERS, never from input.
            f"UPDATE offers SET {column} = ? WHERE id = ? AND {column} IS NULL",  # noqa: S608
            (to_db_time(now), offer_id),
        )
        return changed > 0

    async def with_codes(self, campaign_id: int) -> list[Offer]:
        rows = await self._s.all(
            "SELECT * FROM offers WHERE campaign_id = ? AND promo_code IS NOT NULL "
            "ORDER BY accepted_at, id",
            (campaign_id,),
        )
        return [_offer(row) for row in rows]

    async def awaiting_post(
        self, which: str, deadline_after: datetime, deadline_until: datetime, limit: int
    ) -> list[Offer]:
        rows = await self._s.all(
            AWAITING_POST.format(column=_REMINDERS[which]),
            (to_db_time(deadline_after), to_db_time(deadline_until), limit),
        )
        return [_offer(row) for row in rows]


def _offer(row: Row) -> Offer:
    return Offer(
        id=row["id"],
        campaign_id=row["campaign_id"],
        person_id=row["person_id"],
        status=row["status"],
        ref_code=row["ref_code"],
        promo_code=row["promo_code"],
        decline_reason=row["decline_reason"],
        decline_note=row["decline_note"],
        content_url=row["content_url"],
        content_handle=row["content_handle"],
        created_at=from_db_time(row["created_at"]),
        updated_at=from_db_time(row["updated_at"]),
        accepted_at=maybe_time(row["accepted_at"]),
        declined_at=maybe_time(row["declined_at"]),
        submitted_at=maybe_time(row["submitted_at"]),
        withdrawn_at=maybe_time(row["withdrawn_at"]),
        reminded_48h_at=maybe_time(row["reminded_48h_at"]),
        reminded_2h_at=maybe_time(row["reminded_2h_at"]),
    )


def _recipient(row: Row) -> Recipient:
    if row["mode"] is None:  # the defaults, never changed
        return Recipient(
            row["offer_id"],
            row["person_id"],
            row["language"],
            row["timezone"],
            row["platform"],
            row["dm_chat"],
        )
    return Recipient(
        row["offer_id"],
        row["person_id"],
        row["language"],
        row["timezone"],
        row["platform"],
        row["dm_chat"],
        row["mode"],
        row["digest_hour"],
        row["quiet_start"],
        row["quiet_end"],
    )


def _card(row: Row) -> OfferCard:
    return OfferCard(
        offer_id=row["offer_id"],
        status=row["status"],
        language=row["language"],
        timezone=row["timezone"],
        platform=row["platform"],
        chat=row["chat"],
        message_id=row["message_id"],
        ref_code=row["ref_code"],
        promo_code=row["promo_code"],
        content_url=row["content_url"],
    )
