"""The pending question stays the last thing on screen: after a command answered mid-signup,
and when a platform starts a new, empty screen for a person ("opened")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import App
from bot.settings import Settings
from handlers.review import Decide, RejectFor
from storage.clock import utcnow
from storage.models import ConversationKey
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import conversations, people
from tests.integration.signup import sign_up

WELCOME_BACK = "Welcome back! Let's continue where you left off."
OPERATOR = "100"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"operators": (f"fake:{OPERATOR}",)})


async def open_screen(person: Person) -> list[str]:
    """What the platform shows when it starts a new screen for this person."""
    before = len(person.inbox)
    await person.platform.feed(person._incoming(kind="opened"))
    return [message.text for message in person.inbox[before:]]


@pytest.mark.parametrize("command", ["/help", "/profile", "/edit", "/dance"])
async def test_a_command_mid_signup_answers_then_asks_again(
    platform: FakePlatform, command: str
) -> None:
    person = Person(platform)
    await sign_up(person, until="payout_method")
    question = person.last
    replies = await person.say(command)
    assert len(replies) == 2, [r.text for r in replies]
    assert replies[-1] == question
    await person.press_data("pay:paypal")
    assert person.last_text == "Type the email address of your PayPal account."


async def test_profile_mid_signup_does_not_send_them_to_start(platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, until="country")
    replies = await person.say("/profile")
    assert replies[0].text == "Your profile is made when you finish signing up."
    assert replies[1].text.startswith("Which country do you live in?")


async def test_profile_while_editing_asks_the_edit_again(platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person)
    await person.say("/edit")
    await person.press_data("edit:payout")
    replies = await person.say("/profile")
    assert "\nName: Anna\n" in replies[0].text
    assert replies[1].text == "How would you like to be paid?"


async def test_start_while_editing_asks_the_edit_again(platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person)
    await person.say("/edit")
    await person.press_data("edit:payout")
    replies = await person.say("/start")
    assert replies[0].text.startswith("You are already signed up, Anna.")
    assert replies[1].text == "How would you like to be paid?"
    await person.press_data("pay:paypal")
    assert person.last_text == "Type the email address of your PayPal account."


async def test_an_opened_screen_mid_signup_says_where_and_asks_again(
    platform: FakePlatform,
) -> None:
    person = Person(platform)
    await sign_up(person, until="more_socials")
    shown = await open_screen(person)
    assert shown[0] == WELCOME_BACK
    assert shown[1].startswith("Your accounts so far:")
    assert [b.label for b in person.buttons()] == ["Add another account", "Continue"]
    await person.press("Continue")
    assert person.last_text.startswith("Which topics do you post about?")


async def test_an_opened_screen_at_review_in_an_edit(platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person)
    await person.say("/edit")
    shown = await open_screen(person)
    assert shown[0] == WELCOME_BACK
    assert shown[1].startswith("Your profile:")


async def test_an_opened_screen_with_nothing_pending_greets(platform: FakePlatform) -> None:
    newcomer = Person(platform)
    assert await open_screen(newcomer) == ["Hello! Send /start to join the influencer programme."]
    member = Person(platform, user_id="2")
    await sign_up(member)
    assert await open_screen(member) == ["Send /help to see what I can do."]


async def test_an_opened_screen_after_the_signup_expired_says_so(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, until="country")
    key = ConversationKey(platform="fake", chat=person.chat.chat_id, user=person.user_id)
    conversation = await conversations(app).get(key)
    assert conversation is not None
    await conversations(app).save(conversation, now=utcnow() - timedelta(days=8))
    shown = await open_screen(person)
    assert len(shown) == 1
    assert "expired after 7 days" in shown[0]


async def test_an_operators_open_question_comes_back_too(app: App, platform: FakePlatform) -> None:
    """Not only the signup: the note asked for on a rejection is asked again as well."""
    await sign_up(Person(platform, user_id="3"))
    applicant = await people(app).by_account("fake", "3")
    assert applicant is not None
    operator = Person(platform, user_id=OPERATOR)
    await operator.say("/review")
    await operator.press_data(Decide(decision="reject", person=applicant.id).pack())
    [ask] = await operator.press_data(RejectFor(person=applicant.id, reason="content").pack())
    shown = await open_screen(operator)
    assert shown == [WELCOME_BACK, ask.text]
    assert operator.last.buttons == ask.buttons


async def test_a_language_change_mid_note_asks_the_note_again_in_it(
    app: App, platform: FakePlatform
) -> None:
    await sign_up(Person(platform, user_id="3"))
    applicant = await people(app).by_account("fake", "3")
    assert applicant is not None
    operator = Person(platform, user_id=OPERATOR)
    await operator.say("/review")
    await operator.press_data(Decide(decision="reject", person=applicant.id).pack())
    await operator.press_data(RejectFor(person=applicant.id, reason="content").pack())
    await operator.say("/language")
    replies = await operator.press_data("setlang:fr")
    assert [r.text for r in replies][:1] == ["Langue modifiée."]
    assert replies[-1].text.startswith(f"Refus de la candidature n° {applicant.id}")
