"""Campaigns, offers, promo codes, linked chats and alert settings on a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from storage.base import Store
from storage.clock import utcnow
from storage.models import (
    AccountLink,
    AlertSettings,
    Commission,
    DeliveryOutcome,
    NewCampaign,
    NewDelivery,
    Profile,
    SealedPayout,
    SocialClaim,
    offer_delivery_key,
)
from storage.sqlite import SqliteStore
from storage.sqlite.offers import AWAITING_POST

TTL = timedelta(days=7)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "k.db", TTL)
    yield opened
    await opened.close()


def influencer(n: int) -> tuple[Profile, AccountLink]:
    profile = Profile(
        display_name=f"P{n}",
        language="en",
        country="PL",
        timezone="Europe/Warsaw",
        socials=(SocialClaim(network="instagram", handle=f"p{n}", followers=5000),),
        niches=("tech",),
        payout=SealedPayout(method="paypal", sealed="s", masked="m", fingerprint=f"f{n}"),
        consent_version="2026-11-01",
        consent_at=utcnow(),
    )
    return profile, AccountLink(platform="telegram", platform_user_id=str(n), dm_chat=f"t:{n}")


async def _people(store: Store, count: int) -> list[int]:
    async with store.unit_of_work() as uow:
        await uow.people.import_many([influencer(n) for n in range(1, count + 1)])
    return list(range(1, count + 1))


def _draft(agency_id: int, **changes: object) -> NewCampaign:
    fields: dict[str, object] = {
        "agency_id": agency_id,
        "brand": "Acme",
        "title": "Winter boots",
        "brief": "Show the boots in snow.",
        "commission": Commission.percent(1250),
        "countries": ("PL", "DE"),
        "niches": ("fashion", "outdoor"),
        "min_followers": 1000,
        "slots": 3,
        "deadline": utcnow() + timedelta(days=10),
        "landing_url": "https://acme.example/boots",
        "created_by": "telegram:7",
    }
    fields.update(changes)
    return NewCampaign.model_validate(fields)


async def _published(store: Store, slots: int, people: int) -> tuple[int, list[int]]:
    """A published campaign offered to ``people`` new people; (campaign id, offer ids)."""
    person_ids = await _people(store, people)
    async with store.unit_of_work() as uow:
        agency = await uow.agencies.create("Acme Media")
        campaign = await uow.campaigns.create(_draft(agency.id, slots=slots), "published")
        assert await uow.offers.add_many(campaign.id, person_ids, utcnow()) == people
        offers = [await uow.offers.of_campaign_person(campaign.id, p) for p in person_ids]
    return campaign.id, [offer.id for offer in offers if offer is not None]


async def test_a_campaign_keeps_what_it_was_given(store: SqliteStore) -> None:
    deadline = datetime(2027, 1, 31, 22, 59, tzinfo=utcnow().tzinfo)
    async with store.unit_of_work() as uow:
        agency = await uow.agencies.create("Acme Media")
        other = await uow.agencies.create("Brandly")
        percent = await uow.campaigns.create(_draft(agency.id, deadline=deadline))
        fixed = await uow.campaigns.create(
            _draft(agency.id, commission=Commission.fixed(2500, "EUR"), countries=(), niches=())
        )
        theirs = await uow.campaigns.create(_draft(other.id))
    async with store.reading() as uow:
        loaded = await uow.campaigns.get(percent.id)
        mine = await uow.campaigns.of_agency(agency.id)
        everyone = await uow.campaigns.all()
        missing = await uow.campaigns.get(999)
    assert loaded is not None
    assert loaded.status == "draft"
    assert loaded.commission == Commission.percent(1250)
    assert (loaded.countries, loaded.niches) == (("DE", "PL"), ("fashion", "outdoor"))
    assert loaded.deadline == deadline
    assert (loaded.slots, loaded.slots_left, loaded.min_followers) == (3, 3, 1000)
    assert [c.id for c in mine] == [fixed.id, percent.id]
    assert mine[0].commission == Commission.fixed(2500, "EUR")
    assert (mine[0].countries, mine[0].niches) == ((), ())
    assert [c.id for c in everyone] == [theirs.id, fixed.id, percent.id]
    assert missing is None


async def test_the_store_refuses_a_commission_that_is_both_or_neither(
    store: SqliteStore, tmp_path: Path
) -> None:
    async with store.unit_of_work() as uow:
        agency = await uow.agencies.create("Acme Media")
    await store.close()
    with closing(sqlite3.connect(tmp_path / "k.db")) as conn:
        base = (
            "INSERT INTO campaigns (agency_id, brand, title, brief, commission_kind, "
            "commission_bps, commission_minor, currency, slots, deadline, landing_url, "
            "created_by, created_at, updated_at) VALUES (?, 'b', 't', 'x', ?, ?, ?, ?, 1, "
            "'2030-01-01', 'https://x', 'cli', '2026-01-01', '2026-01-01')"
        )
        for kind, bps, minor, currency in [
            ("percent", 100, 100, None),
            ("fixed", None, 100, None),
            ("fixed", 100, None, "EUR"),
            ("percent", None, None, None),
        ]:
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(base, (agency.id, kind, bps, minor, currency))


async def test_status_changes_compare_and_set(store: SqliteStore) -> None:
    async with store.unit_of_work() as uow:
        agency = await uow.agencies.create("Acme Media")
        campaign = await uow.campaigns.create(_draft(agency.id))
        now = utcnow()
        assert await uow.campaigns.change_status(campaign.id, ["draft"], "publishing", now)
        # A second publish finds it no longer a draft and writes nothing.
        assert not await uow.campaigns.change_status(campaign.id, ["draft"], "publishing", now)
        assert not await uow.campaigns.change_status(campaign.id, [], "closed", now)
        picked = await uow.campaigns.in_status("publishing")
        await uow.campaigns.set_audience(campaign.id, 1234)
        assert await uow.campaigns.change_status(campaign.id, ["publishing"], "published", now)
        assert await uow.campaigns.change_status(campaign.id, ["published"], "paused", now)
        assert await uow.campaigns.change_status(
            campaign.id, ["published", "paused"], "closed", now
        )
        closed = await uow.campaigns.get(campaign.id)
    assert [c.id for c in picked] == [campaign.id]
    assert closed is not None
    assert (closed.status, closed.audience) == ("closed", 1234)
    assert closed.published_at == now
    assert closed.closed_at == now


async def test_offers_are_one_per_person_and_campaign(store: SqliteStore) -> None:
    campaign_id, _ = await _published(store, slots=2, people=3)
    async with store.unit_of_work() as uow:
        # Offering again (a resumed publish) adds only who is new.
        await uow.people.import_many([influencer(4)])
        assert await uow.offers.add_many(campaign_id, [1, 2, 3, 4], utcnow()) == 1
        offers = await uow.offers.of_person(1, ["offered"])
        nothing = await uow.offers.of_person(1, [])
    assert len(offers) == 1
    assert offers[0].campaign_id == campaign_id
    assert offers[0].status == "offered"
    assert nothing == []


async def test_accept_takes_a_slot_once_and_says_why_not(store: SqliteStore) -> None:
    campaign_id, (first, second, third) = await _published(store, slots=1, people=3)
    now = utcnow()
    async with store.unit_of_work() as uow:
        # Another person's offer is stale to this one, and takes nothing.
        assert (await uow.offers.accept(first, 2, "r0", now)).outcome == "stale"
        taken = await uow.offers.accept(first, 1, "r1", now)
        again = await uow.offers.accept(first, 1, "r1b", now)
        full = await uow.offers.accept(second, 2, "r2", now)
        campaign = await uow.campaigns.get(campaign_id)
    assert taken.outcome == "accepted"
    assert taken.offer is not None
    assert (taken.offer.status, taken.offer.ref_code, taken.slots_left) == ("accepted", "r1", 0)
    assert again.outcome == "stale"
    assert full.outcome == "full"
    assert full.offer is not None
    assert full.offer.status == "offered"
    assert campaign is not None
    assert campaign.slots_taken == 1

    async with store.unit_of_work() as uow:
        await uow.campaigns.change_status(campaign_id, ["published"], "paused", now)
        paused = await uow.offers.accept(third, 3, "r3", now)
        await uow.campaigns.change_status(campaign_id, ["paused"], "closed", now)
        closed = await uow.offers.accept(third, 3, "r3", now)
    assert (paused.outcome, closed.outcome) == ("paused", "closed")


async def test_accept_after_the_deadline_is_closed(store: SqliteStore) -> None:
    _, (offer_id,) = await _published(store, slots=5, people=1)
    async with store.unit_of_work() as uow:
        late = await uow.offers.accept(offer_id, 1, "r", utcnow() + timedelta(days=11))
    assert late.outcome == "closed"


async def test_200_simultaneous_accepts_for_50_slots_take_exactly_50(tmp_path: Path) -> None:
    """Four stores on one file stand for four processes; every press is its own unit of work."""
    path = tmp_path / "k.db"
    stores = [await SqliteStore.open(path, TTL) for _ in range(4)]
    try:
        campaign_id, offer_ids = await _published(stores[0], slots=50, people=200)

        async def press(index: int, offer_id: int) -> str:
            async with stores[index % 4].unit_of_work() as uow:
                result = await uow.offers.accept(offer_id, index + 1, f"ref-{index}", utcnow())
            return result.outcome

        outcomes = await asyncio.gather(*(press(i, o) for i, o in enumerate(offer_ids)))
        async with stores[1].reading() as uow:
            campaign = await uow.campaigns.get(campaign_id)
            figures = await uow.campaigns.figures(campaign_id)
        accepted = await stores[2].db.fetchall(
            "SELECT COUNT(*) FROM offers WHERE campaign_id = ? AND status = 'accepted'",
            (campaign_id,),
        )
    finally:
        for opened in stores:
            await opened.close()
    assert Counter(outcomes) == {"accepted": 50, "full": 150}
    assert accepted[0][0] == 50
    assert campaign is not None
    assert (campaign.slots_taken, campaign.slots_left) == (50, 0)
    assert (figures.accepted, figures.slots_left, figures.matched) == (50, 0, 200)


async def test_the_store_itself_never_takes_more_slots_than_there_are(
    store: SqliteStore, tmp_path: Path
) -> None:
    campaign_id, _ = await _published(store, slots=2, people=1)
    await store.close()
    with (
        closing(sqlite3.connect(tmp_path / "k.db")) as conn,
        pytest.raises(sqlite3.IntegrityError),
    ):
        conn.execute("UPDATE campaigns SET slots_taken = 3 WHERE id = ?", (campaign_id,))


async def test_decline_submit_withdraw_and_reminders(store: SqliteStore) -> None:
    campaign_id, (a, b, c, d) = await _published(store, slots=4, people=4)
    now = utcnow()
    async with store.unit_of_work() as uow:
        declined = await uow.offers.decline(a, 1, "not_my_audience", "too cold here", now)
        assert await uow.offers.decline(a, 1, "other", None, now) is None
        assert await uow.offers.decline(b, 1, "other", None, now) is None  # not theirs
        assert (await uow.offers.accept(b, 2, "rb", now)).outcome == "accepted"
        assert await uow.offers.submit(c, 3, "https://x/1", now) is None  # not accepted
        submitted = await uow.offers.submit(b, 2, "https://instagram.com/p/1", now)
        corrected = await uow.offers.submit(b, 2, "https://instagram.com/p/2", now)
        assert await uow.offers.mark_reminded(b, "48h", now)
        assert not await uow.offers.mark_reminded(b, "48h", now)
        assert await uow.offers.mark_reminded(b, "2h", now)
        withdrawn = await uow.offers.withdraw_open(campaign_id, now)
        open_left = await uow.offers.of_person(3, ["offered"])
        figures = await uow.campaigns.figures(campaign_id)
        reminded = await uow.offers.get(b)
    assert declined is not None
    assert (declined.status, declined.decline_reason, declined.decline_note) == (
        "declined",
        "not_my_audience",
        "too cold here",
    )
    assert submitted is not None
    assert submitted.status == "submitted"
    assert corrected is not None
    assert corrected.content_url == "https://instagram.com/p/2"
    assert withdrawn == [c, d]
    assert open_left == []
    assert reminded is not None
    assert reminded.reminded_48h_at == now
    assert reminded.reminded_2h_at == now
    assert (figures.matched, figures.declined, figures.accepted, figures.submitted) == (4, 1, 1, 1)
    assert (figures.withdrawn, figures.slots_left) == (2, 3)


async def test_figures_count_offer_messages_by_delivery_status(store: SqliteStore) -> None:
    campaign_id, offer_ids = await _published(store, slots=5, people=5)
    other = campaign_id * 10  # its keys share the first digit: offer:1: against offer:10:
    async with store.unit_of_work() as uow:
        await uow.outbox.enqueue(
            [
                NewDelivery(
                    dedupe_key=offer_delivery_key(campaign_id, person),
                    platform="telegram",
                    chat=f"t:{person}",
                    ref=f"offer:{offer_id}",
                )
                for person, offer_id in enumerate(offer_ids, 1)
            ]
            # Other messages, to the same people, are not this campaign's offer messages.
            + [
                NewDelivery(dedupe_key="hello", platform="telegram", chat="t:1", payload="{}"),
                NewDelivery(
                    dedupe_key=offer_delivery_key(other, 1),
                    platform="telegram",
                    chat="t:1",
                    ref="offer:999",
                ),
            ]
        )
        now = utcnow() + timedelta(seconds=1)
        leased = await uow.outbox.claim("me", now + timedelta(minutes=1), now, 3, ["telegram"])
        assert [row.dedupe_key for row in leased] == [
            offer_delivery_key(campaign_id, person) for person in (1, 2, 3)
        ]
        await uow.outbox.finish(
            [
                DeliveryOutcome(id=leased[0].id, status="sent", message_id="10"),
                DeliveryOutcome(id=leased[1].id, status="blocked"),
            ],
            "me",
        )
        figures = await uow.campaigns.figures(campaign_id)
        none = await uow.campaigns.figures(999)
    # The third leased row is still being sent: queued with the two never tried.
    assert (figures.queued, figures.sent, figures.blocked, figures.failed) == (3, 1, 1, 0)
    assert none.matched == 0


async def test_offer_messages_are_kept_per_chat(store: SqliteStore) -> None:
    _, (offer_id,) = await _published(store, slots=1, people=1)
    first, later = utcnow(), utcnow() + timedelta(hours=1)
    async with store.unit_of_work() as uow:
        await uow.offers.record_message(offer_id, "telegram", "telegram:1", "100", first)
        await uow.offers.record_message(offer_id, "discord", "discord:dm:9", "555", first)
        await uow.offers.record_message(offer_id, "telegram", "telegram:1", "101", later)
        messages = await uow.offers.messages(offer_id)
    assert [(m.platform, m.chat, m.message_id) for m in messages] == [
        ("discord", "discord:dm:9", "555"),
        ("telegram", "telegram:1", "101"),
    ]


async def test_imported_codes_are_given_once_each(store: SqliteStore) -> None:
    campaign_id, (a, b, c) = await _published(store, slots=3, people=3)
    now = utcnow()
    async with store.unit_of_work() as uow:
        assert await uow.campaigns.import_codes(campaign_id, ["ZOE-1", "ZOE-2", "ZOE-1"]) == 2
        assert await uow.campaigns.import_codes(campaign_id, ["ZOE-2"]) == 0
        for offer_id, person in [(a, 1), (b, 2), (c, 3)]:
            assert (await uow.offers.accept(offer_id, person, f"r{person}", now)).outcome == (
                "accepted"
            )
        first = await uow.campaigns.give_code(campaign_id, a)
        kept = await uow.campaigns.give_code(campaign_id, a)
        second = await uow.campaigns.give_code(campaign_id, b)
        none_left = await uow.campaigns.give_code(campaign_id, c)
        assert first is not None
        assert await uow.offers.set_promo_code(a, first)
        # A code can be on one offer of a campaign only.
        assert not await uow.offers.set_promo_code(b, first)
        codes = await uow.campaigns.codes(campaign_id)
        given = await uow.offers.get(a)
    assert (first, kept, second, none_left) == ("ZOE-1", "ZOE-1", "ZOE-2", None)
    assert [(code.code, code.offer_id) for code in codes] == [("ZOE-1", a), ("ZOE-2", b)]
    assert given is not None
    assert given.promo_code == "ZOE-1"


async def test_a_chat_is_linked_to_one_agency_and_follows_a_migration(store: SqliteStore) -> None:
    now = utcnow()
    async with store.unit_of_work() as uow:
        mine = await uow.agencies.create("Acme Media")
        theirs = await uow.agencies.create("Brandly")
        linked = await uow.agency_chats.link(
            mine.id, "telegram", "telegram:-5", "Deals", "t:1", now
        )
        relinked = await uow.agency_chats.link(
            mine.id, "telegram", "telegram:-5", "Deals PL", "t:1", now
        )
        taken = await uow.agency_chats.link(
            theirs.id, "telegram", "telegram:-5", "Mine now", "t:2", now
        )
        assert await uow.agency_chats.move("telegram", "telegram:-5", "telegram:-1005")
        assert linked is not None
        campaign = await uow.campaigns.create(_draft(mine.id))
        await uow.agency_chats.record_post(campaign.id, linked.id, "77", now)
        await uow.agency_chats.record_post(campaign.id, linked.id, "78", now)
        posts = await uow.agency_chats.posts(campaign.id)
        moved = await uow.agency_chats.get("telegram", "telegram:-1005")
        assert await uow.agency_chats.get("telegram", "telegram:-5") is None
        assert not await uow.agency_chats.unlink(theirs.id, "telegram", "telegram:-1005")
        listed = await uow.agency_chats.of_agency(mine.id)
        assert await uow.agency_chats.unlink(mine.id, "telegram", "telegram:-1005")
        after = await uow.agency_chats.of_agency(mine.id)
    assert relinked is not None
    assert relinked.title == "Deals PL"
    assert taken is None
    assert moved is not None
    assert (moved.id, moved.agency_id, moved.title) == (linked.id, mine.id, "Deals PL")
    assert [p.message_id for p in posts] == ["78"]
    assert [c.chat for c in listed] == ["telegram:-1005"]
    assert after == []


async def test_alert_settings_default_and_digest_once_a_day(store: SqliteStore) -> None:
    await _people(store, 2)
    now = utcnow()
    async with store.unit_of_work() as uow:
        default = await uow.alerts.get(1)
        await uow.alerts.save(
            AlertSettings(person_id=1, mode="digest", digest_hour=19, quiet_start=0, quiet_end=0),
            now,
        )
        assert await uow.alerts.mark_digest_sent(1, "2026-11-30", now)
        assert not await uow.alerts.mark_digest_sent(1, "2026-11-30", now)
        assert await uow.alerts.mark_digest_sent(1, "2026-12-01", now)
        # Saving settings later keeps the record of the last digest.
        await uow.alerts.save(AlertSettings(person_id=1, mode="digest", digest_hour=7), now)
        saved = await uow.alerts.get(1)
        assert await uow.alerts.mark_digest_sent(2, "2026-11-30", now)
        untouched = await uow.alerts.get(2)
    assert (default.mode, default.quiet_start, default.quiet_end) == ("instant", 1320, 480)
    assert (saved.mode, saved.digest_hour, saved.digest_sent_on) == ("digest", 7, "2026-12-01")
    assert (saved.quiet_start, saved.quiet_end) == (1320, 480)
    assert untouched.mode == "instant"


async def test_reminders_read_only_the_accepted_offers(tmp_path: Path) -> None:
    """The reminder job runs every few minutes: its query must never walk the millions of
    offers that are not accepted."""
    store = await SqliteStore.open(tmp_path / "k.db", timedelta(days=7))
    await store.close()
    with closing(sqlite3.connect(tmp_path / "k.db")) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN " + AWAITING_POST.format(column="reminded_48h_at"),
            ("2026-01-01", "2026-01-03", 200),
        ).fetchall()
    steps = [str(row[3]) for row in plan]
    assert any("offers USING INDEX offers_accepted" in step for step in steps), steps
