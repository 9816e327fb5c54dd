"""Publishing on a real SQLite file: who a campaign reaches, resuming after a crash, pausing,
closing, and influencers approved later."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import App
from bot.core.messages import Outgoing
from bot.services import campaigns, publishing
from bot.services.offer_cards import OFFER_PRIORITY, post_renderer, render_offer
from bot.services.publishing import (
    HELD_PRIORITY,
    close,
    close_ended,
    hold_offers,
    offer_state,
    publish,
    publish_batch,
    release_offers,
)
from bot.services.review import approve
from storage.base import Store
from storage.clock import utcnow
from storage.models import (
    AccountLink,
    AlertSettings,
    Commission,
    NewCampaign,
    Profile,
    SealedPayout,
    SocialClaim,
)
from storage.sqlite import SqliteStore
from storage.sqlite.offers import SqliteOffers
from tests.conftest import serving
from tests.fakes.platform import FakePlatform
from tests.fakes.store import drained

TTL = timedelta(days=7)
FAR = datetime(9000, 1, 1, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "k.db", TTL)
    yield opened
    await opened.close()


def person(
    n: int,
    *,
    country: str = "PL",
    niches: tuple[str, ...] = ("fashion",),
    followers: tuple[int, ...] = (5000,),
    language: str = "en",
    timezone: str = "UTC",
) -> tuple[Profile, AccountLink]:
    profile = Profile(
        display_name=f"Creator {n}",
        language=language,
        country=country,
        timezone=timezone,
        socials=tuple(
            SocialClaim(network=network, handle=f"c{n}", followers=count)
            for network, count in zip(("instagram", "tiktok", "youtube"), followers, strict=False)
        ),
        niches=niches,
        payout=SealedPayout(method="paypal", sealed="s", masked="m", fingerprint=f"f{n}"),
        consent_version="2026-11-01",
        consent_at=utcnow(),
    )
    return profile, AccountLink(
        platform="telegram", platform_user_id=str(1000 + n), dm_chat=f"telegram:{1000 + n}"
    )


async def add_people(store: Store, people: list[tuple[Profile, AccountLink]]) -> None:
    async with store.unit_of_work() as uow:
        await uow.people.import_many(people)


async def campaign(store: Store, status: str = "publishing", **changes: object) -> int:
    async with store.unit_of_work() as uow:
        agency = await uow.agencies.create("Agency")
        fields: dict[str, object] = {
            "agency_id": agency.id,
            "brand": "Acme",
            "title": "Winter boots",
            "brief": "Show the boots in snow.",
            "commission": Commission.percent(1250),
            "countries": ("PL",),
            "niches": ("fashion", "outdoor"),
            "min_followers": 1000,
            "slots": 5,
            "deadline": utcnow() + timedelta(days=10),
            "landing_url": "https://acme.example/boots",
            "created_by": "telegram:7",
        } | changes
        made = await uow.campaigns.create(NewCampaign.model_validate(fields), status)  # type: ignore[arg-type]
    return made.id


def rows(store: SqliteStore, sql: str, *params: object) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(store.db.path)) as conn:
        return conn.execute(sql, params).fetchall()


def offered_people(store: SqliteStore, campaign_id: int) -> set[int]:
    found = rows(store, "SELECT person_id FROM offers WHERE campaign_id = ?", campaign_id)
    return {int(row[0]) for row in found}  # type: ignore[call-overload]


def offer_rows(store: SqliteStore) -> list[tuple[object, ...]]:
    return rows(
        store,
        "SELECT ref, chat, priority, next_attempt_at, status FROM deliveries "
        "WHERE ref LIKE 'offer:%' ORDER BY id",
    )


async def test_a_campaign_reaches_exactly_the_approved_people_it_targets(
    store: SqliteStore,
) -> None:
    await add_people(
        store,
        [
            person(1),  # matches
            person(2, country="DE"),  # another country
            person(3, niches=("food",)),  # another niche
            person(4, followers=(500,)),  # too few followers
            person(5, followers=(600, 600)),  # enough over two networks
            person(6),  # alerts off
            person(7),  # back under review
            person(8, niches=("food", "outdoor")),  # one of the niches is enough
        ],
    )
    async with store.unit_of_work() as uow:
        await uow.alerts.save(AlertSettings(person_id=6, mode="off"), utcnow())
        await uow.people.change_status(7, "approved", "applicant", None, "cli")
    campaign_id = await campaign(store)

    assert await publish(store, campaign_id)

    assert offered_people(store, campaign_id) == {1, 5, 8}
    sent = offer_rows(store)
    assert sorted(chat for _, chat, *_ in sent) == [  # type: ignore[type-var]
        "telegram:1001",
        "telegram:1005",
        "telegram:1008",
    ]
    assert {priority for _, _, priority, *_ in sent} == {OFFER_PRIORITY}
    async with store.reading() as uow:
        published = await uow.campaigns.get(campaign_id)
    assert published is not None
    assert published.status == "published"
    assert published.audience == 3


async def test_a_campaign_with_no_targeting_sets_takes_everyone_approved(
    store: SqliteStore,
) -> None:
    await add_people(store, [person(1, country="DE"), person(2, niches=("food",))])
    campaign_id = await campaign(store, countries=(), niches=(), min_followers=0)
    assert await publish(store, campaign_id)
    assert offered_people(store, campaign_id) == {1, 2}


async def _batch_then_crash(store: Store, campaign_id: int, after: int) -> None:
    async with store.unit_of_work() as uow:
        await publish_batch(uow, campaign_id, after, 3, utcnow())
        raise RuntimeError("killed")


async def test_a_publish_cut_short_resumes_without_doubles(store: SqliteStore) -> None:
    await add_people(store, [person(n) for n in range(1, 11)])
    campaign_id = await campaign(store)
    # The first batch commits; the second dies half-way (a crash) and leaves nothing.
    async with store.unit_of_work() as uow:
        after = await publish_batch(uow, campaign_id, 0, 3, utcnow())
    assert after == 3
    with pytest.raises(RuntimeError):
        await _batch_then_crash(store, campaign_id, after)
    assert offered_people(store, campaign_id) == {1, 2, 3}
    assert len(offer_rows(store)) == 3

    # The job after the restart finds the campaign still publishing and finishes it.
    assert await publishing.publish_pending(store, batch=4) == 1

    assert offered_people(store, campaign_id) == set(range(1, 11))
    refs = [ref for ref, *_ in offer_rows(store)]
    assert len(refs) == 10
    assert len(set(refs)) == 10
    # A second run (two processes, a double click) offers nothing more.
    async with store.unit_of_work() as uow:
        await uow.campaigns.change_status(campaign_id, ("published",), "publishing", utcnow())
    assert await publish(store, campaign_id, batch=4)
    assert len(offer_rows(store)) == 10


async def test_counting_the_audience_keeps_the_writer_free(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting a million matches takes a second: replies and presses must commit meanwhile,
    so the count reads a snapshot instead of holding the one writer."""
    await add_people(store, [person(n) for n in range(1, 4)])
    campaign_id = await campaign(store)
    counting = SqliteOffers.count_matching
    wrote: list[int] = []

    async def count_while_someone_writes(self: SqliteOffers, campaign: int) -> int:
        async with asyncio.timeout(5), store.unit_of_work() as uow:
            wrote.append((await uow.agencies.create("Meanwhile")).id)
        return await counting(self, campaign)

    monkeypatch.setattr(SqliteOffers, "count_matching", count_while_someone_writes)
    assert await publish(store, campaign_id)
    assert len(wrote) == 1
    async with store.reading() as uow:
        published = await uow.campaigns.get(campaign_id)
    assert published is not None
    assert published.audience == 3


async def test_people_on_a_daily_digest_get_offers_but_no_cards(store: SqliteStore) -> None:
    await add_people(store, [person(1), person(2), person(3)])
    async with store.unit_of_work() as uow:
        await uow.alerts.save(AlertSettings(person_id=2, mode="digest"), utcnow())
        await uow.alerts.save(AlertSettings(person_id=3, mode="digest"), utcnow())
        await uow.people.change_status(3, "approved", "applicant", None, "cli")
    first = await campaign(store)
    assert await publish(store, first)
    assert offered_people(store, first) == {1, 2}
    # Approved later, on a digest too: an offer of the open campaign, and no card either.
    async with store.unit_of_work() as uow:
        assert await approve(uow, 3, "cli") == "done"
    assert offered_people(store, first) == {1, 2, 3}
    assert [chat for _, chat, *_ in offer_rows(store)] == ["telegram:1001"]


async def test_offers_wait_for_the_end_of_quiet_hours(store: SqliteStore) -> None:
    await add_people(store, [person(1, timezone="Asia/Tokyo"), person(2, timezone="UTC")])
    now = utcnow()
    # Quiet hours around this moment in Tokyo for person 1; none for person 2.
    tokyo = now.astimezone(ZoneInfo("Asia/Tokyo"))
    start = (tokyo.hour * 60 + tokyo.minute - 60) % 1440
    end = (start + 180) % 1440
    async with store.unit_of_work() as uow:
        await uow.alerts.save(
            AlertSettings(person_id=1, quiet_start=start, quiet_end=end), utcnow()
        )
        await uow.alerts.save(AlertSettings(person_id=2, quiet_start=0, quiet_end=0), utcnow())
    campaign_id = await campaign(store)
    assert await publish(store, campaign_id)
    due = {chat: datetime.fromisoformat(str(at)) for _, chat, _, at, _ in offer_rows(store)}
    assert due["telegram:1002"] - now < timedelta(minutes=1)
    assert timedelta(minutes=118) < due["telegram:1001"] - now <= timedelta(minutes=121)


async def _claimable(store: Store) -> list[str]:
    async with store.unit_of_work() as uow:
        claimed = await uow.outbox.claim("test", FAR, utcnow(), 100, ["telegram"])
        # Hand them back: this only looks at what is due.
        await uow.outbox.release(["test"])
    return sorted(row.ref or "" for row in claimed)


async def test_a_pause_holds_unsent_offers_until_the_campaign_resumes(
    store: SqliteStore,
) -> None:
    await add_people(store, [person(n) for n in range(1, 4)])
    campaign_id = await campaign(store)
    async with store.unit_of_work() as uow:
        found = await uow.campaigns.get(campaign_id)
        assert found is not None
        chat = "telegram:-100200"
        await uow.agency_chats.link(found.agency_id, "telegram", chat, "", "cli", utcnow())
    await publish(store, campaign_id)
    assert len(await _claimable(store)) == 4  # three offers and the group's post

    async with store.unit_of_work() as uow:
        await uow.campaigns.change_status(campaign_id, ("published",), "paused", utcnow())
        assert await hold_offers(uow, campaign_id, 0, 10) is None
    assert await _claimable(store) == []
    assert {priority for _, _, priority, *_ in offer_rows(store)} == {HELD_PRIORITY}
    async with store.reading() as uow:
        assert await offer_state(uow, 1, 1) == "paused"

    async with store.unit_of_work() as uow:
        await uow.campaigns.change_status(campaign_id, ("paused",), "published", utcnow())
        assert await release_offers(uow, campaign_id, 0, 10) is None
    assert len(await _claimable(store)) == 4
    assert {priority for _, _, priority, *_ in offer_rows(store)} == {OFFER_PRIORITY}


async def test_pause_resume_and_close_as_agencies_do_them_hold_and_withdraw(
    store: SqliteStore,
) -> None:
    await add_people(store, [person(n) for n in range(1, 3)])
    campaign_id = await campaign(store)
    await publish(store, campaign_id)
    async with store.unit_of_work() as uow:
        change = await campaigns.apply(uow, campaign_id, "pause", "cli", agency_id=None)
    assert change.outcome == "done"
    assert await _claimable(store) == []
    async with store.unit_of_work() as uow:
        await campaigns.apply(uow, campaign_id, "resume", "cli", agency_id=None)
    assert await _claimable(store) == ["offer:1", "offer:2"]
    async with store.unit_of_work() as uow:
        await campaigns.apply(uow, campaign_id, "close", "cli", agency_id=None)
        assert await render_offer(uow, "offer:1") is None
    assert rows(store, "SELECT DISTINCT status FROM offers") == [("withdrawn",)]


async def test_pause_resume_and_close_write_one_batch_then_the_job_carries_on(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A campaign of a million: the admin's press changes the status and one batch of its
    offers' rows at once, and the job does the rest a batch per transaction, so the press
    never holds the one writer for seconds."""
    monkeypatch.setattr(publishing, "SETTLE_BATCH", 2)
    await add_people(store, [person(n) for n in range(1, 6)])
    campaign_id = await campaign(store)
    await publish(store, campaign_id)

    def priorities() -> list[object]:
        return [priority for _, _, priority, *_ in offer_rows(store)]

    async with store.unit_of_work() as uow:
        paused = await campaigns.apply(uow, campaign_id, "pause", "cli", agency_id=None)
    assert paused.outcome == "done"
    assert priorities().count(HELD_PRIORITY) == 2
    assert await publishing.settle_pending(store) == 1
    assert priorities() == [HELD_PRIORITY] * 5

    async with store.unit_of_work() as uow:
        await campaigns.apply(uow, campaign_id, "resume", "cli", agency_id=None)
    assert priorities().count(OFFER_PRIORITY) == 2
    await publishing.settle_pending(store)
    assert priorities() == [OFFER_PRIORITY] * 5

    async with store.unit_of_work() as uow:
        await campaigns.apply(uow, campaign_id, "close", "cli", agency_id=None)
    statuses = "SELECT status, COUNT(*) FROM offers GROUP BY status ORDER BY status"
    assert rows(store, statuses) == [("offered", 3), ("withdrawn", 2)]
    await publishing.settle_pending(store)
    assert rows(store, statuses) == [("withdrawn", 5)]
    assert await publishing.settle_pending(store) == 0


async def test_closing_withdraws_open_offers_and_edits_recent_and_accepted_cards(
    store: SqliteStore,
) -> None:
    await add_people(store, [person(n, language="fr") for n in range(1, 5)])
    campaign_id = await campaign(store)
    await publish(store, campaign_id)
    now = utcnow()
    async with store.unit_of_work() as uow:
        # Cards of offers 1 (sent an hour ago), 2 (three days ago) and 3 (accepted) went out;
        # offer 4's card has not.
        await uow.offers.record_message(1, "telegram", "telegram:1001", "11", now)
        old = now - timedelta(days=3)
        await uow.offers.record_message(2, "telegram", "telegram:1002", "12", old)
        await uow.offers.record_message(3, "telegram", "telegram:1003", "13", now)
        accepted = await uow.offers.accept(3, 3, "ref3", now)
        assert accepted.outcome == "accepted"

    async with store.unit_of_work() as uow:
        assert await close(uow, campaign_id, "closed", "telegram:7")

    statuses = rows(store, "SELECT id, status FROM offers ORDER BY id")
    assert statuses == [(1, "withdrawn"), (2, "withdrawn"), (3, "accepted"), (4, "withdrawn")]
    edits = rows(
        store, "SELECT chat, payload, collapse_key FROM deliveries WHERE payload IS NOT NULL"
    )
    edited = {str(chat): Outgoing.model_validate_json(str(payload)) for chat, payload, _ in edits}
    assert set(edited) == {"telegram:1001", "telegram:1003"}
    assert edited["telegram:1001"].edit_message_id == "11"
    assert "n'est plus ouverte" in edited["telegram:1001"].text
    assert edited["telegram:1003"].edit_message_id == "13"
    assert "Votre place est maintenue" in edited["telegram:1003"].text
    assert all(key for *_, key in edits)
    # Offer 4's card, not sent yet, sends nothing now; a press on an old card is told.
    async with store.reading() as uow:
        assert await render_offer(uow, "offer:4") is None
        assert await offer_state(uow, 2, 2) == "closed"
        assert await offer_state(uow, 3, 3) == "taken"
        assert await offer_state(uow, 2, 3) == "gone"
    audit = rows(store, "SELECT actor, action FROM audit_log WHERE action = 'campaign.close'")
    assert audit == [("telegram:7", "campaign.close")]


async def test_the_last_slot_and_the_deadline_close_their_campaigns(store: SqliteStore) -> None:
    await add_people(store, [person(n) for n in range(1, 4)])
    full = await campaign(store, slots=1)
    await publish(store, full)
    later = await campaign(store, deadline=utcnow() + timedelta(seconds=1))
    await publish(store, later)
    async with store.unit_of_work() as uow:
        offer = await uow.offers.of_campaign_person(full, 1)
        assert offer is not None
        assert (await uow.offers.accept(offer.id, 1, "r1", utcnow())).outcome == "accepted"
    time.sleep(1.1)  # noqa: ASYNC251 - the deadline passes

    assert await close_ended(store) == 2

    async with store.reading() as uow:
        for campaign_id in (full, later):
            closed = await uow.campaigns.get(campaign_id)
            assert closed is not None
            assert closed.status == "closed"
    left = rows(store, "SELECT campaign_id, status FROM offers WHERE status <> 'withdrawn'")
    assert left == [(full, "accepted")]


async def test_someone_approved_later_gets_the_open_campaigns_they_match(
    store: SqliteStore,
) -> None:
    await add_people(store, [person(1), person(2)])
    async with store.unit_of_work() as uow:
        await uow.people.change_status(2, "approved", "applicant", None, "cli")
    open_one = await campaign(store)
    await publish(store, open_one)
    closed_one = await campaign(store)
    await publish(store, closed_one)
    async with store.unit_of_work() as uow:
        await close(uow, closed_one, "closed", "cli")
    assert offered_people(store, open_one) == {1}

    async with store.unit_of_work() as uow:
        assert await approve(uow, 2, "cli") == "done"

    assert offered_people(store, open_one) == {1, 2}
    assert offered_people(store, closed_one) == {1}
    chats = [chat for _, chat, *_ in offer_rows(store)]
    assert chats.count("telegram:1002") == 1
    async with store.reading() as uow:
        offer = await uow.offers.of_campaign_person(open_one, 2)
        assert offer is not None
        card = await render_offer(uow, f"offer:{offer.id}")
    assert card is not None
    assert str(card.chat) == "telegram:1002"
    assert "12.5% of each sale" in card.text
    assert "5 slots left" in card.text


async def test_someone_approved_while_a_campaign_is_paused_gets_it_when_it_resumes(
    store: SqliteStore,
) -> None:
    await add_people(store, [person(1), person(2)])
    async with store.unit_of_work() as uow:
        await uow.people.change_status(2, "approved", "applicant", None, "cli")
    campaign_id = await campaign(store)
    await publish(store, campaign_id)
    async with store.unit_of_work() as uow:
        await campaigns.apply(uow, campaign_id, "pause", "cli", agency_id=None)

    async with store.unit_of_work() as uow:
        assert await approve(uow, 2, "cli") == "done"
    assert offered_people(store, campaign_id) == {1, 2}
    # Held with the others while it is paused (only the welcome is due).
    assert await _claimable(store) == [""]

    async with store.unit_of_work() as uow:
        await campaigns.apply(uow, campaign_id, "resume", "cli", agency_id=None)
    assert await _claimable(store) == ["", "offer:1", "offer:2"]


class LinkingPlatform(FakePlatform):
    """A platform whose private chat opens with a start payload, as Telegram's does."""

    def private_start_link(self, payload: str) -> str:
        return f"https://t.me/kolbot_test_bot?start={payload}"


async def test_cards_and_posts_are_sent_and_keep_their_message_ids(app: App) -> None:
    await add_people(app.store, [person(1), person(2)])
    campaign_id = await campaign(app.store)
    async with app.store.unit_of_work() as uow:
        found = await uow.campaigns.get(campaign_id)
        assert found is not None
        linked = await uow.agency_chats.link(
            found.agency_id, "telegram", "telegram:-100500", "Fans", "telegram:7", utcnow()
        )
        assert linked is not None
    async with serving(app, LinkingPlatform("telegram")) as fake:
        assert await publishing.publish_pending(app.store) == 1
        app.outbox.wake()
        await drained(app)
        by_chat = {str(message.chat): message for message in fake.sent}
        assert set(by_chat) == {"telegram:1001", "telegram:1002", "telegram:-100500"}
        card = by_chat["telegram:1001"]
        assert [b.label for row in card.buttons for b in row] == ["Accept", "Decline", "Details"]
        [[button]] = by_chat["telegram:-100500"].buttons
        assert button.url == f"https://t.me/kolbot_test_bot?start=offer-{campaign_id}"
    async with app.store.reading() as uow:
        messages = await uow.offers.messages(1)
        posts = await uow.agency_chats.posts(campaign_id)
    assert [(m.chat, m.message_id != "") for m in messages] == [("telegram:1001", True)]
    assert [p.agency_chat_id for p in posts] == [linked.id]


async def test_offers_withdrawn_before_they_went_are_neither_sent_nor_counted_sent(
    app: App,
) -> None:
    await add_people(app.store, [person(1), person(2)])
    campaign_id = await campaign(app.store)
    assert await publish(app.store, campaign_id)
    async with app.store.unit_of_work() as uow:
        assert await close(uow, campaign_id, "closed", "cli")
    async with serving(app, FakePlatform("telegram")) as fake:
        app.outbox.wake()
        await drained(app)
        assert fake.sent == []
    async with app.store.reading() as uow:
        figures = await uow.campaigns.figures(campaign_id)
    assert (figures.matched, figures.withdrawn, figures.sent, figures.queued) == (2, 2, 0, 0)


async def test_matching_and_queueing_100_000_influencers_takes_seconds(
    store: SqliteStore, figure: Callable[[str], None]
) -> None:
    countries = ("PL", "FR", "DE", "ES")
    niches = (("fashion",), ("food",), ("fashion", "travel"))
    for start in range(0, 100_000, 20_000):
        await add_people(
            store,
            [
                person(n, country=countries[n % 4], niches=niches[n % 3], followers=(n % 7000,))
                for n in range(start + 1, start + 20_001)
            ],
        )
    # Every country and niche of theirs is targeted (as sets to match), and the follower
    # minimum leaves out one in seven.
    campaign_id = await campaign(store, countries=countries, niches=("fashion", "food"))
    started = time.perf_counter()
    assert await publish(store, campaign_id)
    seconds = time.perf_counter() - started
    expected = sum(1 for n in range(1, 100_001) if n % 7000 >= 1000)
    figure(f"matched and queued {expected:,} of 100,000 influencers in {seconds:.2f}s")
    assert len(offered_people(store, campaign_id)) == expected
    assert len(offer_rows(store)) == expected
    assert seconds < 30


async def test_a_group_post_says_which_time_zone_its_deadline_is_in(store: SqliteStore) -> None:
    """A group has no one time zone: its post's deadline names UTC, so nobody reads 17:00
    UTC as 17:00 where they live."""
    deadline = datetime(2027, 1, 10, 17, 0, tzinfo=UTC)
    campaign_id = await campaign(store, "published", deadline=deadline)
    async with store.unit_of_work() as uow:
        found = await uow.campaigns.get(campaign_id)
        assert found is not None
        chat = await uow.agency_chats.link(
            found.agency_id, "telegram", "telegram:-100200", "", "cli", utcnow()
        )
        assert chat is not None
        post = await post_renderer(lambda platform, payload: None)(
            uow, publishing.post_ref(campaign_id, chat.id)
        )
    assert post is not None
    assert "Deadline: Jan 10, 2027, 5:00\u202fPM (UTC)" in post.text


async def test_a_groups_posts_are_in_the_language_of_the_admin_who_linked_it(app: App) -> None:
    campaign_id = await campaign(app.store)
    async with app.store.unit_of_work() as uow:
        found = await uow.campaigns.get(campaign_id)
        assert found is not None
        await uow.agency_chats.link(
            found.agency_id, "telegram", "telegram:-100600", "Fani", "telegram:7", utcnow(), "pl"
        )
    async with serving(app, LinkingPlatform("telegram")) as fake:
        assert await publishing.publish_pending(app.store) == 1
        app.outbox.wake()
        await drained(app)
    [post] = [m for m in fake.sent if str(m.chat) == "telegram:-100600"]
    assert post.text.startswith("Nowa kampania")
    assert [b.label for row in post.buttons for b in row] == ["Otwórz ofertę"]


async def test_closing_a_paused_campaign_leaves_nothing_queued(store: SqliteStore) -> None:
    """Offers held by a pause are done once the campaign closes: its figures say nothing is
    queued, and no row waits in the outbox for a year that never comes."""
    await add_people(store, [person(n) for n in range(1, 4)])
    campaign_id = await campaign(store)
    async with store.unit_of_work() as uow:
        found = await uow.campaigns.get(campaign_id)
        assert found is not None
        await uow.agency_chats.link(
            found.agency_id, "telegram", "telegram:-1002", "", "cli", utcnow()
        )
    await publish(store, campaign_id)
    for action in ("pause", "close"):
        async with store.unit_of_work() as uow:
            assert (
                await campaigns.apply(uow, campaign_id, action, "cli", agency_id=None)
            ).outcome == "done"
    async with store.reading() as uow:
        figures = await uow.campaigns.figures(campaign_id)
    assert (figures.queued, figures.sent, figures.withdrawn) == (0, 0, 3)
    assert rows(store, "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'") == [(0,)]


async def test_closing_edits_the_campaigns_posts_in_linked_groups(store: SqliteStore) -> None:
    """A group keeps seeing its post: once the campaign closes, the post says so instead of
    inviting everyone to an offer that is gone."""
    campaign_id = await campaign(store, "published")
    async with store.unit_of_work() as uow:
        found = await uow.campaigns.get(campaign_id)
        assert found is not None
        chat = await uow.agency_chats.link(
            found.agency_id, "telegram", "telegram:-100700", "Fans", "cli", utcnow(), "fr"
        )
        assert chat is not None
        await uow.agency_chats.record_post(campaign_id, chat.id, "77", utcnow())
    async with store.unit_of_work() as uow:
        assert (
            await campaigns.apply(uow, campaign_id, "close", "cli", agency_id=None)
        ).outcome == "done"
    edits = rows(store, "SELECT chat, payload FROM deliveries WHERE payload IS NOT NULL")
    assert [chat for chat, _ in edits] == ["telegram:-100700"]
    edit = Outgoing.model_validate_json(str(edits[0][1]))
    assert edit.edit_message_id == "77"
    assert edit.buttons == ()
    assert edit.text.startswith("Acme : Winter boots")
    assert "n'est plus ouverte" in edit.text
