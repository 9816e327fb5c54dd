"""The review screen as a hub: edits return to it, /back out of an edit restores the draft."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from bot.app import App
from bot.core.messages import ChatRef
from storage.base import AlreadySignedUp
from storage.clock import utcnow
from storage.models import AccountLink, ConversationKey, Screening
from storage.sqlite.conversations import SqliteConversations
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import conversations, people
from tests.integration.signup import Answers, sign_up


def key(person: Person) -> ConversationKey:
    return ConversationKey(platform="fake", chat=person.chat.chat_id, user=person.user_id)


async def test_back_after_a_member_edit_returns_to_the_profile(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person)
    await person.say("/edit")
    await person.press_data("edit:name")
    await person.say("Bob")
    assert person.last_text.startswith("Your profile:")
    replies = await person.say("/back")
    assert [r.text for r in replies] == ["This is the first question.", person.last_text]
    await person.press_data("edit:name")
    await person.say("Carl")
    await person.press_data("review:done")
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert stored.display_name == "Carl"


async def test_back_at_the_first_step_of_an_edit_restores_the_draft(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, until="review")
    await person.press_data("edit:country")
    await person.say("ES")
    assert person.last_text.startswith("Which time zone")
    await person.say("/back")
    assert person.last_text.startswith("Which country")
    await person.say("/back")
    assert person.last_text.startswith("Please check your answers:")
    assert "Country: Germany" in person.last_text
    assert "Time zone: Europe/Berlin" in person.last_text
    await person.press_data("review:confirm")
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert (stored.country, stored.timezone) == ("DE", "Europe/Berlin")


async def test_back_from_more_accounts_asks_the_count_again(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, until="more_socials")
    await person.say("/back")
    assert person.last_text.startswith("How many followers do you have on Instagram?")
    await person.say("20k")
    assert "20,000 followers" in person.last_text
    await sign_up(person, resume_at="more_socials")
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert [(s.handle, s.followers) for s in stored.socials] == [("anna.insta", 20_000)]


async def test_cancel_during_edit_says_what_was_kept(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person)
    await person.say("/edit")
    assert (await person.say("/cancel"))[0].text == "Cancelled. Your profile is unchanged."
    await person.say("/edit")
    await person.press_data("edit:name")
    await person.say("Bob")
    replies = await person.say("/cancel")
    assert replies[0].text == "Stopped editing. The changes you finished before are saved."
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert stored.display_name == "Bob"


async def test_declining_the_terms_asks_again(platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, until="consent")
    replies = await person.press_data("consent:no")
    assert replies[0].text.startswith("We can only work with you once you agree")
    assert [b.data for b in person.buttons(replies[-1])] == ["consent:yes", "consent:no"]
    await person.press_data("consent:yes")
    assert person.last_text.startswith("Please check your answers:")


async def test_one_account_in_two_chats_signs_up_once(app: App, platform: FakePlatform) -> None:
    in_dm = Person(platform, user_id="7", chat_id="dm-a")
    in_other_chat = Person(platform, user_id="7", chat_id="dm-b")
    await sign_up(in_dm, until="review")
    await sign_up(in_other_chat, Answers(handle="other.handle"), until="review")
    await asyncio.gather(
        in_dm.press_data("review:confirm"), in_other_chat.press_data("review:confirm")
    )
    rows = await app.store.db.fetchall("SELECT id FROM people")
    assert len(rows) == 1
    assert in_dm.last_text == in_other_chat.last_text
    assert in_dm.last_text.startswith("Thank you, Anna! Your application is in")
    stored = await people(app).by_account("fake", "7")
    assert stored is not None
    assert stored.flags == ()
    assert [s.handle for s in stored.socials] in (["anna.insta"], ["other.handle"])


async def test_the_store_refuses_a_second_person_for_one_account(
    app: App, platform: FakePlatform
) -> None:
    """Two processes racing past the per-person lock still cannot create two people."""
    person = Person(platform)
    await sign_up(person)
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    account = AccountLink(platform="fake", platform_user_id="1", dm_chat="fake:elsewhere")
    with pytest.raises(AlreadySignedUp):
        await people(app).create_applicant(
            stored, account, lambda profile, evidence: Screening(status="applicant")
        )
    assert len(await app.store.db.fetchall("SELECT id FROM people")) == 1


async def test_a_repeated_confirm_repeats_the_outcome(
    app: App, platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = Person(platform)
    await sign_up(person, until="review")

    async def fail(self: SqliteConversations, key: ConversationKey) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(SqliteConversations, "delete", fail)
    replies = await person.press_data("review:confirm")
    assert replies[0].text.startswith("Sorry, something went wrong")
    # The whole event rolled back: no person half-created, the review still open.
    assert await app.store.db.fetchall("SELECT id FROM people") == []
    monkeypatch.undo()
    replies = await person.press_data("review:confirm")
    assert replies[0].text.startswith("Thank you, Anna! Your application is in")
    assert await conversations(app).get(key(person)) is None
    assert len(await app.store.db.fetchall("SELECT id FROM people")) == 1


async def test_a_failure_while_loading_state_apologises(
    app: App,
    platform: FakePlatform,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    person = Person(platform, language_hint="es")

    async def fail(self: SqliteConversations, key: ConversationKey) -> None:
        raise OSError("something unexpected")

    monkeypatch.setattr(SqliteConversations, "get", fail)
    with caplog.at_level(logging.ERROR):
        replies = await person.say("/start")
    assert replies[0].text.startswith("Lo sentimos")
    assert "something unexpected" in caplog.text


async def test_typing_where_a_button_is_expected_says_so(platform: FakePlatform) -> None:
    person = Person(platform)
    for step in ("more_socials", "payout_method", "consent"):
        await person.say("/cancel")
        await sign_up(person, until=step)
        replies = await person.say("3")
        assert replies[0].text == "Please choose one of the options below.", step


async def test_a_name_without_letters_is_refused(platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, until="name")
    replies = await person.say("/ ...")
    assert replies[0].text.startswith("I do not know that command")
    replies = await person.say("... !!")
    assert replies[0].text == "A name needs at least one letter."
    assert (await person.say("💄"))[0].text == "A name needs at least one letter."
    assert (await person.say("Anna 💄"))[0].text.startswith("Which country")


async def test_socials_edit_keeps_verification_and_raises_flags_once(
    app: App, platform: FakePlatform
) -> None:
    first, second = Person(platform, user_id="1"), Person(platform, user_id="2")
    await sign_up(first, Answers(handle="taken", payout="a@example.com"))
    await sign_up(second, Answers(handle="taken", payout="b@example.com"))
    owner = await people(app).by_account("fake", "2")
    assert owner is not None
    assert owner.flags == (("handle_claimed", "instagram:taken"),)
    async with app.store.db.writing() as session:
        await session.run(
            "UPDATE social_profiles SET verified_at = '2026-11-01T00:00:00+00:00' "
            "WHERE person_id = ?",
            (owner.id,),
        )
    for followers in ("30k", "40k"):
        await second.say("/edit")
        await second.press_data("edit:socials")
        await second.press_data("acct:instagram:open")
        await second.press_data("acct:instagram:followers")
        await second.say(followers)
        await second.press_data("more:done")
        await second.press_data("review:done")
    stored = await people(app).by_account("fake", "2")
    assert stored is not None
    assert stored.socials[0].followers == 40_000
    assert stored.socials[0].verified_at is not None
    assert stored.flags == (("handle_claimed", "instagram:taken"),)


async def test_expiry_notice_only_for_an_unfinished_signup(
    app: App, platform: FakePlatform
) -> None:
    guest = Person(platform, user_id="guest")
    await guest.say("/language")
    await guest.press_data("setlang:en")
    conversation = await conversations(app).get(key(guest))
    assert conversation is not None
    await conversations(app).save(conversation, now=utcnow() - timedelta(days=8))
    replies = await guest.say("hello")
    assert replies[0].text == "Hello! Send /start to join the influencer programme."


async def test_help_hides_what_does_nothing_here(platform: FakePlatform) -> None:
    guest = Person(platform, user_id="guest")
    text = (await guest.say("/help"))[0].text
    assert "/cancel" not in text
    assert "/start" in text
    member = Person(platform, user_id="member")
    await sign_up(member, Answers(handle="member.handle"))
    text = (await member.say("/help"))[0].text
    assert "/start" not in text
    assert "/profile" in text


async def test_profile_in_a_group_shows_nothing_private(platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person)
    in_group = Person(platform, is_private=False, chat_id="group-9")
    replies = await in_group.say("/profile")
    # Only a pointer to the private chat, shown where it was asked.
    assert replies[0].text == "Please send me this command in a private chat."
    assert "anna" not in replies[0].text.lower()
    assert replies[0].chat == ChatRef(platform="fake", chat_id="group-9")
