"""The inbox: stored before acknowledged, one person in order, everyone else alongside."""

from __future__ import annotations

import asyncio

from bot.app import App
from bot.core.inbox import Inbox
from bot.core.messages import Incoming, Outgoing
from bot.core.platform import UpdateSink
from bot.settings import Settings
from storage.clock import utcnow
from storage.models import NewInboxItem
from tests.conftest import serving
from tests.e2e.telegram_harness import eventually
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import inbox


def texts(person: Person) -> list[str]:
    return [message.text for message in person.inbox]


async def test_a_stored_update_is_handled_after_a_restart(settings: Settings) -> None:
    """Accepted (so acknowledged to the platform) but never handled: the next run does."""
    app = await App.open(settings)
    person = Person(FakePlatform())
    start = person._incoming(kind="command", text="/start", command="start")
    try:
        # Stored as ``accept`` stores it, and then the process died.
        item = NewInboxItem(
            source="fake",
            update_id=start.update_id or "",
            sender=str(start.user),
            payload=start.model_dump_json(),
            received_at=utcnow(),
        )
        assert len(await inbox(app).add_many([item])) == 1
        assert await inbox(app).counts() == {"pending": 1}
    finally:
        await app.close()
    reopened = await App.open(settings)
    try:
        async with serving(reopened, FakePlatform()) as fake:
            await eventually(lambda: len(fake.sent) == 2)
            assert [m.text for m in fake.sent][-1] == "Choose your language:"
            # The same update arriving again (a platform's redelivery) is not handled twice.
            await fake.feed(start)
            assert len(fake.sent) == 2
        assert await inbox(reopened).counts() == {"handled": 1}
    finally:
        await reopened.close()


async def test_one_persons_backlog_never_delays_anyone_elses_first_reply(
    app: App, platform: FakePlatform
) -> None:
    busy = Person(platform, user_id="busy")
    sent_before: dict[str, int] = {}
    flood = [busy._incoming(kind="command", text="/help", command="help") for _ in range(40)]
    others = [Person(platform, user_id=f"p{n}") for n in range(10)]
    await app.inbox.accept("fake", flood)
    firsts = [o._incoming(kind="command", text="/start", command="start") for o in others]
    await app.inbox.accept("fake", firsts)

    def answered() -> bool:
        for other in others:
            if other.inbox and other.user_id not in sent_before:
                sent_before[other.user_id] = len(busy.inbox)
        return len(sent_before) == len(others)

    await eventually(answered, within=10)
    # Everyone else was answered while the busy person's backlog was still mostly waiting.
    assert max(sent_before.values()) < 20
    await eventually(lambda: len(busy.inbox) == 40, within=10)


async def test_one_persons_updates_are_handled_in_order(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    answers = ["/start", "lang:en", "Zoe", "DE"]
    updates: list[Incoming] = []
    for answer in answers:
        if answer.startswith("/"):
            updates.append(person._incoming(kind="command", text=answer, command="start"))
        elif ":" in answer:
            updates.append(person._incoming(kind="button", button_data=answer))
        else:
            updates.append(person._incoming(kind="text", text=answer))
    await app.inbox.accept("fake", updates)
    await eventually(
        lambda: (
            texts(person)[-1:]
            == [
                "Which time zone are you in? Choose one, or type your city or the zone's "
                "name, for example Europe/Berlin."
            ]
        )
    )


async def test_a_flood_is_capped_and_answered_once(settings: Settings) -> None:
    app = await App.open(settings.model_copy(update={"flood_limit": 30}))
    try:
        async with serving(app, FakePlatform()) as fake:
            flooder = Person(fake, user_id="flood")
            calm = Person(fake, user_id="calm")
            burst = [flooder._incoming(kind="text", text=f"spam {n}") for n in range(200)]
            await app.inbox.accept("fake", burst)
            await calm.say("/start")
            await eventually(lambda: app.idle and len(flooder.inbox) >= 31, within=10)
            await asyncio.sleep(0.1)
        counts = await inbox(app).counts()
    finally:
        await app.close()
    slow_down = [t for t in texts(flooder) if "slow down" in t]
    assert len(slow_down) == 1
    assert counts["handled"] == 31  # 30 from the flood, and the calm person's /start
    assert texts(calm)[-1] == "Choose your language:"


def asked_for_a_name(person: Person) -> bool:
    return bool(person.inbox) and texts(person)[-1].startswith("What name should brands see?")


async def test_memory_holds_a_bounded_backlog_and_the_rest_waits_in_its_rows(
    settings: Settings,
) -> None:
    """60 updates stored at once with room for 10 in memory: at most 10 are held, the rest
    are read back as workers catch up, every person's two updates in order; a restart with
    rows still stored takes them up the same way."""
    app = await App.open(settings)
    app.inbox = Inbox(app.store, app.dispatcher, app.outbox, memory_limit=10, flood_limit=1000)
    people = [Person(FakePlatform(), user_id=f"p{n}") for n in range(30)]
    updates = []
    for person in people:
        updates.append(person._incoming(kind="command", text="/start", command="start"))
        updates.append(person._incoming(kind="button", button_data="lang:en"))
    try:
        async with serving(app, FakePlatform()) as fake:
            for person in people:
                person.platform = fake
            await app.inbox.accept("fake", updates)
            assert app.inbox.pending <= 10
            await eventually(lambda: all(asked_for_a_name(p) for p in people), within=20)
        counts = await inbox(app).counts()
    finally:
        await app.close()
    assert counts == {"handled": 60}
    for person in people:
        assert texts(person)[1] == "Choose your language:"
        assert texts(person)[-1].startswith("What name should brands see?")


async def test_a_restart_reads_a_large_stored_backlog_back_in_order(settings: Settings) -> None:
    app = await App.open(settings)
    people = [Person(FakePlatform(), user_id=f"p{n}") for n in range(15)]
    stored = []
    for answer in ("/start", "lang:en"):
        for person in people:
            if answer == "/start":
                update = person._incoming(kind="command", text=answer, command="start")
            else:
                update = person._incoming(kind="button", button_data=answer)
            stored.append(
                NewInboxItem(
                    source="fake",
                    update_id=update.update_id or "",
                    sender=str(update.user),
                    payload=update.model_dump_json(),
                    received_at=utcnow(),
                )
            )
    try:
        assert len(await inbox(app).add_many(stored)) == 30
    finally:
        await app.close()
    reopened = await App.open(settings)
    reopened.inbox = Inbox(
        reopened.store, reopened.dispatcher, reopened.outbox, memory_limit=4, flood_limit=1000
    )
    try:
        async with serving(reopened, FakePlatform()) as fake:
            for person in people:
                person.platform = fake
            assert reopened.inbox.pending <= 4
            await eventually(lambda: all(asked_for_a_name(p) for p in people), within=20)
        assert await inbox(reopened).counts() == {"handled": 30}
    finally:
        await reopened.close()
    for person in people:
        assert texts(person)[1] == "Choose your language:"
        assert texts(person)[-1].startswith("What name should brands see?")


class SlowToStart(FakePlatform):
    """A platform that can send only once started, and takes its time starting (a bot that
    logs in and asks who it is first)."""

    async def start(self, sink: UpdateSink) -> None:
        await asyncio.sleep(0.5)
        await super().start(sink)

    async def send(self, message: Outgoing, *, first_part: int = 0) -> str:
        if not self.started.is_set():
            raise RuntimeError("not started")
        return await super().send(message, first_part=first_part)


async def test_replies_to_updates_taken_up_at_start_wait_for_their_platform(
    settings: Settings,
) -> None:
    app = await App.open(settings)
    person = Person(FakePlatform())
    start = person._incoming(kind="command", text="/start", command="start")
    try:
        stored = NewInboxItem(
            source="fake",
            update_id=start.update_id or "",
            sender=str(start.user),
            payload=start.model_dump_json(),
            received_at=utcnow(),
        )
        assert len(await inbox(app).add_many([stored])) == 1
    finally:
        await app.close()
    reopened = await App.open(settings)
    try:
        async with serving(reopened, SlowToStart()) as slow:
            await eventually(lambda: len(slow.sent) == 2, within=10)
            assert slow.sent[-1].text == "Choose your language:"
        rows = await reopened.store.db.fetchall("SELECT status FROM deliveries")
        assert [row["status"] for row in rows] == ["sent", "sent"]
    finally:
        await reopened.close()


async def test_a_sender_that_waits_for_each_answer_is_not_judged_a_flood(
    settings: Settings,
) -> None:
    """40 updates in well under the window from one person, each handed over only once the
    one before was answered (as the console does): none is dropped as a flood."""
    app = await App.open(settings.model_copy(update={"flood_limit": 30}))
    try:
        async with serving(app, FakePlatform()) as fake:
            person = Person(fake, user_id="steady")
            for _ in range(40):
                await person.say("/help")
        counts = await inbox(app).counts()
    finally:
        await app.close()
    assert counts == {"handled": 40}
    assert not [text for text in texts(person) if "slow down" in text]
