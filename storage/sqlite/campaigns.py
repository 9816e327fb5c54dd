"""Campaigns, their targeting sets, figures and imported promo codes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.base import CampaignRepository
from storage.clock import utcnow
from storage.models import (
    Campaign,
    CampaignFigures,
    CampaignStatus,
    Commission,
    NewCampaign,
    PromoCode,
    offer_key_prefix,
)
from storage.sqlite.database import Row, Session, from_db_time, maybe_time, to_db_time

# Offer messages as the outbox counts them: a row being sent is still queued; one that may
# or may not have arrived waits for an operator's retry, as a failed one does.
_DELIVERY_FIGURES = {
    "pending": "queued",
    "sending": "queued",
    "sent": "sent",
    "unconfirmed": "failed",
} | {status: status for status in ("blocked", "failed")}


class SqliteCampaigns(CampaignRepository):
    def __init__(self, session: Session) -> None:
        self._s = session

    async def create(self, campaign: NewCampaign, status: CampaignStatus = "draft") -> Campaign:
        now = to_db_time(utcnow())
        c = campaign.commission
        row = await self._s.one(
            "INSERT INTO campaigns (agency_id, brand, title, brief, commission_kind, "
            "commission_bps, commission_minor, currency, min_followers, slots, deadline, "
            "landing_url, status, created_by, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                campaign.agency_id,
                campaign.brand,
                campaign.title,
                campaign.brief,
                c.kind,
                c.basis_points,
                c.amount_minor,
                c.currency,
                campaign.min_followers,
                campaign.slots,
                to_db_time(campaign.deadline),
                campaign.landing_url,
                status,
                campaign.created_by,
                now,
                now,
            ),
        )
        assert row is not None
        campaign_id = int(row["id"])
        await self._s.many(
            "INSERT INTO campaign_countries (campaign_id, country) VALUES (?, ?) "
            "ON CONFLICT DO NOTHING",
            [(campaign_id, country) for country in campaign.countries],
        )
        await self._s.many(
            "INSERT INTO campaign_niches (campaign_id, niche) VALUES (?, ?) "
            "ON CONFLICT DO NOTHING",
            [(campaign_id, niche) for niche in campaign.niches],
        )
        created = await self.get(campaign_id)
        assert created is not None
        return created

    async def get(self, campaign_id: int) -> Campaign | None:
        rows = await self._load("WHERE id = ?", (campaign_id,))
        return rows[0] if rows else None

    async def of_agency(self, agency_id: int, limit: int = 50) -> list[Campaign]:
        return await self._load("WHERE agency_id = ? ORDER BY id DESC LIMIT ?", (agency_id, limit))

    async def all(self, limit: int = 100) -> list[Campaign]:
        return await self._load("ORDER BY id DESC LIMIT ?", (limit,))

    async def in_status(
        self, status: CampaignStatus, limit: int = 100, after_id: int = 0
    ) -> list[Campaign]:
        return await self._load(
            "WHERE status = ? AND id > ? ORDER BY id LIMIT ?", (status, after_id, limit)
        )

    async def settling(self, limit: int = 100, after_id: int = 0) -> list[Campaign]:
        return await self._load(
            "WHERE settle_after IS NOT NULL AND id > ? ORDER BY id LIMIT ?", (after_id, limit)
        )

    async def settle_from(self, campaign_id: int, expected: int | None, after: int | None) -> bool:
        changed = await self._s.run(
            "UPDATE campaigns SET settle_after = ? "
            "WHERE id = ? AND settle_after IS NOT DISTINCT FROM ?",
            (after, campaign_id, expected),
        )
        return changed > 0

    async def change_status(
        self,
        campaign_id: int,
        expected: Sequence[CampaignStatus],
        status: CampaignStatus,
        now: datetime,
    ) -> bool:
        if not expected:
            return False
        at = to_db_time(now)
        marks = ", ".join("?" for _ in expected)
        changed = await self._s.run(
            "UPDATE campaigns SET status = ?, updated_at = ?, "  # noqa: S608 - placeholders only
            "published_at = CASE WHEN ? = 'published' AND published_at IS NULL THEN ? "
            "ELSE published_at END, "
            "closed_at = CASE WHEN ? = 'closed' THEN ? ELSE closed_at END "
            f"WHERE id = ? AND status IN ({marks})",
            (status, at, status, at, status, at, campaign_id, *expected),
        )
        return changed > 0

    async def set_audience(self, campaign_id: int, audience: int) -> None:
        await self._s.run(
            "UPDATE campaigns SET audience = ?, updated_at = ? WHERE id = ?",
            (audience, to_db_time(utcnow()), campaign_id),
        )

    async def figures(self, campaign_id: int) -> CampaignFigures:
        counts: dict[str, int] = {}
        campaign = await self._s.one(
            "SELECT slots - slots_taken AS slots_left, status FROM campaigns WHERE id = ?",
            (campaign_id,),
        )
        if campaign is None:
            return CampaignFigures()
        offers = await self._s.all(
            "SELECT status, COUNT(*) AS n, COUNT(*) - COUNT(content_handle) AS unmatched "
            "FROM offers WHERE campaign_id = ? GROUP BY status",
            (campaign_id,),
        )
        unmatched = 0
        for row in offers:
            counts[row["status"]] = int(row["n"])
            if row["status"] == "submitted":
                unmatched = int(row["unmatched"])
        # Every key of this campaign's offer rows, and no other, sorts in [offer:7:, offer:7;).
        first = offer_key_prefix(campaign_id)
        # A row whose offer was withdrawn before it went is done without being sent; one held
        # for its person's quiet hours is counted apart too, with when the first and last go.
        deliveries = await self._s.all(
            "SELECT status, status = 'pending' AND quiet = 1 AND next_attempt_at > ? AS held, "
            "COUNT(*) AS n, MIN(next_attempt_at) AS first, MAX(next_attempt_at) AS last "
            "FROM deliveries WHERE dedupe_key >= ? AND dedupe_key < ? "
            "AND (status <> 'sent' OR last_error IS DISTINCT FROM 'withdrawn') "
            "GROUP BY status, held",
            (to_db_time(utcnow()), first, first[:-1] + ";"),
        )
        sent: dict[str, int] = {}
        held = 0
        held_from: datetime | None = None
        held_until: datetime | None = None
        for row in deliveries:
            # A closed campaign's cards not sent yet never go: they are withdrawn (by the
            # settling job, or when their turn comes), so nothing of it is queued.
            if row["status"] == "pending" and campaign["status"] == "closed":
                continue
            figure = _DELIVERY_FIGURES[row["status"]]
            sent[figure] = sent.get(figure, 0) + int(row["n"])
            if row["held"]:
                held = int(row["n"])
                held_from, held_until = from_db_time(row["first"]), from_db_time(row["last"])
        submitted = counts.get("submitted", 0)
        return CampaignFigures(
            matched=sum(counts.values()),
            queued=sent.get("queued", 0),
            quiet=held,
            quiet_from=held_from,
            quiet_until=held_until,
            sent=sent.get("sent", 0),
            blocked=sent.get("blocked", 0),
            failed=sent.get("failed", 0),
            # A submitted offer was accepted first.
            accepted=counts.get("accepted", 0) + submitted,
            declined=counts.get("declined", 0),
            submitted=submitted,
            unmatched=unmatched,
            withdrawn=counts.get("withdrawn", 0),
            slots_left=int(campaign["slots_left"]),
        )

    async def import_codes(self, campaign_id: int, codes: Sequence[str]) -> int:
        now = to_db_time(utcnow())
        added = 0
        for code in codes:
            added += await self._s.run(
                "INSERT INTO campaign_codes (campaign_id, code, imported_at) VALUES (?, ?, ?) "
                "ON CONFLICT (campaign_id, code) DO NOTHING",
                (campaign_id, code, now),
            )
        return added

    async def codes(self, campaign_id: int) -> list[PromoCode]:
        rows = await self._s.all(
            "SELECT campaign_id, code, offer_id FROM campaign_codes WHERE campaign_id = ? "
            "ORDER BY id",
            (campaign_id,),
        )
        return [
            PromoCode(campaign_id=row["campaign_id"], code=row["code"], offer_id=row["offer_id"])
            for row in rows
        ]

    async def give_code(self, campaign_id: int, offer_id: int) -> str | None:
        held = await self._s.one("SELECT code FROM campaign_codes WHERE offer_id = ?", (offer_id,))
        if held is not None:
            return str(held["code"])
        # offer_id is unique: the compare-and-set on the free row gives a code to one offer.
        row = await self._s.one(
            "UPDATE campaign_codes SET offer_id = ? WHERE id = ("
            "SELECT id FROM campaign_codes WHERE campaign_id = ? AND offer_id IS NULL "
            "ORDER BY id LIMIT 1) AND offer_id IS NULL RETURNING code",
            (offer_id, campaign_id),
        )
        return str(row["code"]) if row else None

    async def _load(self, where: str, params: tuple[object, ...]) -> list[Campaign]:
        # ``where`` is one of this module's literals, never input.
        rows = await self._s.all(f"SELECT * FROM campaigns {where}", params)  # noqa: S608
        if not rows:
            return []
        ids = [int(row["id"]) for row in rows]
        marks = ", ".join("?" for _ in ids)
        countries: dict[int, list[str]] = {i: [] for i in ids}
        niches: dict[int, list[str]] = {i: [] for i in ids}
        for row in await self._s.all(
            "SELECT campaign_id, country FROM campaign_countries "  # noqa: S608 - placeholders
            f"WHERE campaign_id IN ({marks}) "
            "ORDER BY campaign_id, country",
            ids,
        ):
            countries[row["campaign_id"]].append(row["country"])
        for row in await self._s.all(
            "SELECT campaign_id, niche FROM campaign_niches "  # noqa: S608 - placeholders only
            f"WHERE campaign_id IN ({marks}) "
            "ORDER BY campaign_id, niche",
            ids,
        ):
            niches[row["campaign_id"]].append(row["niche"])
        return [
            _campaign(row, tuple(countries[row["id"]]), tuple(niches[row["id"]])) for row in rows
        ]


def _campaign(row: Row, countries: tuple[str, ...], niches: tuple[str, ...]) -> Campaign:
    if row["commission_kind"] == "percent":
        commission = Commission.percent(row["commission_bps"])
    else:
        commission = Commission.fixed(row["commission_minor"], row["currency"])
    return Campaign(
        id=row["id"],
        agency_id=row["agency_id"],
        brand=row["brand"],
        title=row["title"],
        brief=row["brief"],
        commission=commission,
        countries=countries,
        niches=niches,
        min_followers=row["min_followers"],
        slots=row["slots"],
        slots_taken=row["slots_taken"],
        deadline=from_db_time(row["deadline"]),
        landing_url=row["landing_url"],
        status=row["status"],
        audience=row["audience"],
        created_by=row["created_by"],
        created_at=from_db_time(row["created_at"]),
        updated_at=from_db_time(row["updated_at"]),
        published_at=maybe_time(row["published_at"]),
        closed_at=maybe_time(row["closed_at"]),
        settle_after=row["settle_after"],
    )
