"""/back, /cancel, /edit, /language, /help, /profile, and what happens around them."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta

import pytest

from bot.app import App
from bot.i18n import translator
from bot.settings import Settings
from storage.clock import utcnow
from storage.models import ConversationKey
from storage.sqlite.inbox import SqliteInbox
from tests.conftest import serving
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import conversations, inbox, people
from tests.integration.signup import Answers, sign_up


def key(person: Person) -> ConversationKey:
    return ConversationKey(platform="fake", chat=person.chat.chat_id, user=person.user_id)


async def test_back_reasks_the_previous_question(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, until="timezone")
    await person.say("/back")
    assert person.last_text.startswith("Which country do you live in?")
    await person.say("ES")
    await person.press_data("tz:0")
    conversation = await conversations(app).get(key(person))
    assert conversation is not None
    assert (conversation.data["country"], conversation.data["tz"]) == ("ES", "Europe/Madrid")


async def test_back_at_the_first_question(platform: FakePlatform) -> None:
    person = Person(platform)
    await person.say("/start")
    replies = await person.say("/back")
    assert replies[0].text == "This is the first question."
    assert replies[1].text == "Choose your language:"


async def test_cancel_deletes_the_answers_and_says_how_to_restart(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, until="followers")
    replies = await person.say("/cancel")
    assert "/start" in replies[0].text
    assert await conversations(app).get(key(person)) is None
    await person.say("/start")
    assert person.last_text == "Choose your language:"


async def test_cancel_with_nothing_to_cancel(platform: FakePlatform) -> None:
    person = Person(platform)
    assert (await person.say("/cancel"))[0].text == "There is nothing to cancel."


async def test_edit_from_the_review_screen(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, until="review")
    await person.press_data("edit:name")
    assert person.last_text == "What name should brands see?"
    await person.say("Anna Maria")
    assert person.last_text.startswith("Please check your answers:")
    assert "Name: Anna Maria" in person.last_text
    await person.press_data("edit:socials")
    await person.press_data("more:add")
    await person.press_data("net:tiktok")
    await person.say("@anna_tt")
    await person.say("5 000")
    await person.press_data("acct:instagram:open")
    await person.press_data("acct:instagram:remove")
    await person.press_data("more:done")
    assert "TikTok @anna_tt: 5,000 followers" in person.last_text
    assert "Instagram" not in person.last_text
    await person.press_data("review:confirm")
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert stored.display_name == "Anna Maria"
    assert [(s.network, s.handle) for s in stored.socials] == [("tiktok", "anna_tt")]


async def test_back_out_of_a_social_accounts_edit_keeps_them(platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, until="review")
    await person.press_data("edit:socials")
    await person.say("/back")
    assert "Instagram @anna.insta" in person.last_text


async def test_edit_after_signup_saves_each_field(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person)
    await person.say("/edit")
    assert person.last_text.startswith("Your profile:")
    await person.press_data("edit:country")
    await person.say("Spain")
    await person.press_data("tz:1")
    await person.press_data("edit:payout")
    await person.press_data("pay:iban")
    await person.say("ES91 2100 0418 4502 0005 1332")
    await person.press_data("edit:niches")
    await person.press_data("niche~tech")
    await person.press_data("niche~food")
    await person.press_data("niche:done")
    await person.press_data("review:done")
    assert person.last_text == "Your profile is saved. Send /profile to see it."
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert (stored.country, stored.timezone) == ("ES", "Atlantic/Canary")
    assert stored.payout.method == "iban"
    assert stored.niches == ("fashion", "food")
    assert await conversations(app).get(key(person)) is None


async def test_edit_with_invalid_input_is_refused(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person)
    await person.say("/edit")
    await person.press_data("edit:name")
    replies = await person.say("x" * 300)
    assert "200" in replies[0].text
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert stored.display_name == "Anna"


async def test_language_switch_mid_signup(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, until="country")
    await person.say("/language")
    replies = await person.press_data("setlang:fr")
    assert replies[-1].text == translator("fr")._(
        "Which country do you live in? Type its name or its two-letter code, "
        "for example {example}.",
        example="Pologne / PL",
    )
    await sign_up(person, Answers(language="fr", country="Allemagne"), resume_at="country")
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert stored.language == "fr"


async def test_language_before_start_is_kept(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await person.say("/language")
    await person.press_data("setlang:ru")
    await person.say("/start")
    assert person.last_text == translator("ru")._("What name should brands see?")


async def test_language_switch_for_a_member(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person)
    await person.say("/language")
    await person.press_data("setlang:pl")
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert stored.language == "pl"
    replies = await person.say("/help")
    assert replies[0].text.startswith(translator("pl")._("Commands:"))


async def test_help_lists_what_this_user_can_use(platform: FakePlatform) -> None:
    guest = Person(platform, user_id="guest")
    help_text = (await guest.say("/help"))[0].text
    assert "/start" in help_text
    assert "/profile" not in help_text
    assert "/back" not in help_text
    await guest.say("/start")
    in_flow = (await guest.say("/help"))[0].text
    assert "/back" in in_flow
    assert "/cancel" in in_flow

    member = Person(platform, user_id="member")
    await sign_up(member, Answers(handle="member.one"))
    member_help = (await member.say("/help"))[0].text
    assert "/profile" in member_help
    assert "/edit" in member_help
    assert "/back" not in member_help


async def test_profile_shows_the_profile_with_a_masked_payout(platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person)
    text = (await person.say("/profile"))[0].text
    assert "Name: Anna" in text
    assert "a***@example.com" in text
    assert "anna@example.com" not in text
    assert "Status: application under review." in text


async def test_profile_before_signup(platform: FakePlatform) -> None:
    person = Person(platform)
    assert "/start" in (await person.say("/profile"))[0].text


async def test_start_again_after_signup(platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person)
    assert "already signed up" in (await person.say("/start"))[0].text


async def test_unknown_command_and_chatter(platform: FakePlatform) -> None:
    person = Person(platform)
    assert "/help" in (await person.say("/dance"))[0].text
    assert "/start" in (await person.say("hello"))[0].text


async def test_an_unknown_command_is_named_only_when_it_could_be_one(
    platform: FakePlatform,
) -> None:
    """What follows a slash is said back only when it could be a command's name: markup, a
    long word or a sentence typed after one is not repeated to its sender."""
    person = Person(platform)
    [named] = await person.say("/dance_2 now")
    assert named.text == "I do not know the command /dance_2. Send /help to see what I can do."
    for typed in ("/foo<b>x", "/<script>alert(1)</script>", "/" + "a" * 33, "/évasion", "/x*y"):
        [reply] = await person.say(typed)
        assert reply.text == "I do not know that command. Send /help to see what I can do.", typed


async def test_group_start_points_to_a_private_chat(platform: FakePlatform) -> None:
    person = Person(platform, is_private=False, chat_id="group-1")
    replies = await person.say("/start")
    assert "private" in replies[0].text
    # A pointer, shown where it was asked: Telegram cannot whisper in a group, and a private
    # reply there would fail rather than reach the asker.
    assert not replies[0].private_reply


async def test_idle_signup_expires(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, until="country")
    conversation = await conversations(app).get(key(person))
    assert conversation is not None
    await conversations(app).save(conversation, now=utcnow() - timedelta(days=8))
    replies = await person.say("DE")
    assert "expired after 7 days" in replies[0].text
    assert await conversations(app).get(key(person)) is None


async def test_a_redelivered_update_is_handled_once(platform: FakePlatform) -> None:
    person = Person(platform)
    incoming = person._incoming(kind="command", text="/start", command="start")
    await platform.feed(incoming)
    await platform.feed(incoming)
    assert len(person.inbox) == 2  # the welcome and the first question, once


async def test_a_database_that_cannot_take_the_write_keeps_the_update(
    app: App, platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Locked twice, then free: the update stays stored and unhandled, nothing half-written
    shows, and once the write goes through it is handled once, with one set of replies."""
    person = Person(platform)
    incoming = person._incoming(kind="command", text="/start", command="start")
    failures = [sqlite3.OperationalError("database is locked")] * 2
    original = SqliteInbox.mark_handled

    async def locked(self: SqliteInbox, item_id: int, now: datetime) -> None:
        if failures:
            raise failures.pop()
        await original(self, item_id, now)

    monkeypatch.setattr(SqliteInbox, "mark_handled", locked)
    feeding = asyncio.create_task(platform.feed(incoming))
    while failures:
        await asyncio.sleep(0.01)
        assert await conversations(app).get(key(person)) is None
        assert person.inbox == []
    await asyncio.wait_for(feeding, 10)
    assert [m.text for m in person.inbox][-1] == "Choose your language:"
    assert len(person.inbox) == 2
    assert await inbox(app).counts() == {"handled": 1}


async def test_an_update_the_database_never_takes_is_set_aside(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def locked(self: SqliteInbox, item_id: int, now: datetime) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(SqliteInbox, "mark_handled", locked)
    app = await App.open(settings.model_copy(update={"inbox_max_attempts": 2}))
    try:
        async with serving(app, FakePlatform()) as fake:
            person = Person(fake)
            await asyncio.wait_for(person.say("/start"), 10)
            assert person.inbox == []
        counts = await inbox(app).counts()
        [dead] = await inbox(app).dead_letters(10)
    finally:
        await app.close()
    assert counts == {"dead": 1}
    assert (dead.attempts, dead.last_error) == (2, "sqlite: database is locked")
