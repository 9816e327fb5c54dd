"""Answers that do not fit get a specific error and the same question; odd text is kept as is."""

from __future__ import annotations

import logging

import pytest

from bot.app import App
from bot.i18n import translator
from handlers import validators
from handlers.validators.geo import COUNTRY_UNKNOWN
from storage.models import ConversationKey
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import conversations, people
from tests.integration.signup import Answers, sign_up


async def step_of(app: App, person: Person) -> str:
    key = ConversationKey(platform="fake", chat=person.chat.chat_id, user=person.user_id)
    conversation = await conversations(app).get(key)
    assert conversation is not None
    step: str = conversation.step
    return step


@pytest.mark.parametrize(
    ("step", "answer", "error"),
    [
        ("name", "x" * 201, "200 characters or fewer"),
        ("name", "Anna\x07", "invisible formatting"),
        ("name", "Anna\u202eevil", "invisible formatting"),
        ("name", "   ", "at least one letter"),
        ("name", "-", "at least one letter"),
        ("name", "💄✨", "at least one letter"),
        ("country", "Atlantis", "country"),
        ("timezone", "Mars/Olympus_Mons", "time zone"),
        ("handle", "not a handle!", "Instagram"),
        ("handle", "https://www.tiktok.com/@anna", "does not lead to a profile on Instagram"),
        ("followers", "lots", "follower"),
        ("followers", "-5", "negative"),
        ("followers", "99999999999", "2,000,000,000"),
        ("payout_details", "anna@", "email"),
    ],
)
async def test_bad_answer_gets_a_specific_error_and_the_same_question(
    app: App, platform: FakePlatform, step: str, answer: str, error: str
) -> None:
    person = Person(platform)
    await sign_up(person, until=step)
    question = person.last_text
    replies = await person.say(answer)
    assert len(replies) == 2, [r.text for r in replies]
    assert error.lower() in replies[0].text.lower(), replies[0].text
    assert replies[1].text == question
    assert await step_of(app, person) == step


async def test_bad_iban_says_what_is_wrong(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, Answers(payout_method="iban"), until="payout_details")
    checksum_error = (await person.say("DE89370400440532013001"))[0].text
    length_error = (await person.say("DE8937040044053201300"))[0].text
    assert checksum_error != length_error
    assert await step_of(app, person) == "payout_details"


async def test_errors_are_in_the_users_language(platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, Answers(language="es"), until="country")
    error = (await person.say("Atlántida"))[0].text
    assert error == translator("es")._(COUNTRY_UNKNOWN)
    assert error != COUNTRY_UNKNOWN, "no Spanish translation"


async def test_a_stale_button_is_refused(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, until="payout_method")
    replies = await person.press_stale("lang:fr")
    assert replies[0].text.startswith("That button belongs to an earlier question")
    assert await step_of(app, person) == "payout_method"
    replies = await person.press_stale("tz:0")
    assert replies[0].text.startswith("That button belongs to an earlier question")


async def test_a_button_where_text_is_expected(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, until="country")
    replies = await person.press_stale("lang:fr")
    assert replies[0].text == "Please type your answer."
    assert await step_of(app, person) == "country"


async def test_typing_where_a_button_is_expected(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, until="payout_method")
    replies = await person.say("cash please")
    assert replies[0].text == "Please choose one of the options below."
    assert await step_of(app, person) == "payout_method"


@pytest.mark.parametrize(
    "name",
    [
        "<b>Anna</b> & <script>alert(1)</script>",
        "Robert'); DROP TABLE people;--",
        "Анна 💄✨",
        "آنا مريم",
        "עננה",
        "  Anna   Maria  ",
    ],
)
async def test_odd_names_are_stored_literally(app: App, platform: FakePlatform, name: str) -> None:
    person = Person(platform)
    await sign_up(person, Answers(name=name))
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert stored.display_name == " ".join(name.split())
    tables = await app.store.db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")
    assert "people" in {row["name"] for row in tables}


async def test_a_failing_handler_apologises_and_keeps_the_step(
    app: App,
    platform: FakePlatform,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(language="pl"), until="country")

    def broken(raw: str, language: str) -> str:
        raise RuntimeError("lookup service down")

    monkeypatch.setattr(validators, "parse_country", broken)
    with caplog.at_level(logging.ERROR):
        replies = await person.say("DE")
    assert [r.text for r in replies] == [
        translator("pl")._(
            "Sorry, something went wrong on our side. Please try again in a moment."
        )
    ]
    assert "lookup service down" in caplog.text
    assert await step_of(app, person) == "country"

    monkeypatch.undo()
    await person.say("DE")
    assert await step_of(app, person) == "timezone"
