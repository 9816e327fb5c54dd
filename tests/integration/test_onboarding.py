"""The whole onboarding through the real dispatcher, router, flows and a SQLite file."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.i18n import LANGUAGES, translator
from bot.settings import Settings
from storage.models import ConversationKey
from tests.conftest import restarted, serving
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import conversations, inbox, people
from tests.integration.signup import Answers, sign_up

NAME_QUESTION = "What name should brands see?"


async def test_complete_signup_stores_every_answer(app: App, platform: FakePlatform) -> None:
    anna = Person(platform)
    await sign_up(anna)

    person = await people(app).by_account("fake", "1")
    assert person is not None
    assert person.status == "applicant"
    assert (person.display_name, person.language, person.country) == ("Anna", "en", "DE")
    assert person.timezone == "Europe/Berlin"
    assert [(s.network, s.handle, s.followers) for s in person.socials] == [
        ("instagram", "anna.insta", 12_000)
    ]
    assert person.niches == ("fashion", "tech")
    assert person.payout.method == "paypal"
    assert person.payout.masked == "a***@example.com"
    assert app.services.sealer.unseal(person.payout.sealed) == "anna@example.com"
    assert person.consent_version == "2026-11-01"
    assert "Thank you, Anna!" in anna.last_text
    account = await people(app).account("fake", "1")
    assert account is not None
    assert account.dm_chat == "fake:1"
    assert await conversations(app).get(anna_key(anna)) is None


def anna_key(person: Person) -> ConversationKey:
    return ConversationKey(platform=person.platform.name, chat=person.chat.chat_id, user="1")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_signup_in_each_language(app: App, platform: FakePlatform, language: str) -> None:
    person = Person(platform, user_id=f"u-{language}")
    await sign_up(person, Answers(language=language), until="name")
    t = translator(language)
    assert person.last_text == t._(NAME_QUESTION)
    if language != "en":
        assert person.last_text != NAME_QUESTION, f"no {language} translation"

    await sign_up(person, Answers(language=language), resume_at="name")
    stored = await people(app).by_account("fake", f"u-{language}")
    assert stored is not None
    assert stored.language == language
    assert stored.status == "applicant"
    assert person.last_text == t._(
        "Thank you, {name}! Your application is in and under review. We will message "
        "you here when you are approved. Send /profile to see your profile.",
        name="Anna",
    )


async def test_language_hint_is_offered_first(platform: FakePlatform) -> None:
    person = Person(platform, language_hint="pl-PL")
    await person.say("/start")
    assert person.buttons()[0].data == "lang:pl"
    assert person.inbox[0].text == translator("pl")._(
        "Welcome! I will sign you up for the influencer programme: a few questions, about "
        "three minutes. Send /back to change the previous answer or /cancel to stop."
    )


async def test_country_by_name_in_the_users_language(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, Answers(language="ru", country="Германия"), until="timezone")
    await sign_up(person, Answers(language="ru"), resume_at="timezone")
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert stored.country == "DE"


async def test_timezone_typed_as_an_iana_name(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, Answers(country="US"), until="timezone")
    await person.say("america/los_angeles")
    assert person.last_text.startswith("Add a social account")
    conversation = await conversations(app).get(anna_key(person))
    assert conversation is not None
    assert conversation.data["tz"] == "America/Los_Angeles"


async def test_several_social_accounts(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, until="more_socials")
    await person.press_data("more:add")
    # Every network keeps its place (its number on the console); the one added says so.
    assert [(b.label, b.data) for b in person.buttons()] == [
        ("Instagram (added)", "net:instagram"),
        ("TikTok", "net:tiktok"),
        ("YouTube", "net:youtube"),
        ("X", "net:x"),
        ("Facebook", "net:facebook"),
        ("Twitch", "net:twitch"),
    ]
    [refused, *_] = await person.press_data("net:instagram")
    assert refused.text == "You have already added an account on this network."
    assert person.last_text == "Add a social account: which network is it on?"
    await person.press_data("net:youtube")
    await person.say("https://www.youtube.com/@AnnaMakes/videos")
    await person.say("1.2M")
    assert "1,200,000" in person.last_text
    await sign_up(person, resume_at="more_socials")
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert [(s.network, s.handle) for s in stored.socials] == [
        ("instagram", "anna.insta"),
        ("youtube", "annamakes"),
    ]
    assert stored.total_followers == 1_212_000


async def test_iban_payout_is_sealed_and_masked(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, Answers(payout_method="iban", payout="de89 3704 0044 0532 0130 00"))
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert stored.payout.method == "iban"
    assert "0532" not in stored.payout.masked
    assert stored.payout.masked.endswith("3000")
    assert "DE89370400440532013000" not in stored.payout.sealed
    assert app.services.sealer.unseal(stored.payout.sealed) == "DE89370400440532013000"


async def test_two_users_interleaved_never_mix(app: App, platform: FakePlatform) -> None:
    anna = Person(platform, user_id="1", display_name="Anna")
    boris = Person(platform, user_id="2", display_name="Boris")
    await anna.say("/start")
    await boris.say("/start")
    await anna.press_data("lang:en")
    await boris.press_data("lang:ru")
    await boris.say("Борис")
    await anna.say("Anna")
    await anna.say("ES")
    await boris.say("DE")
    assert anna.last_text.startswith("Which time zone")
    assert boris.last_text == translator("ru")._(
        "Which time zone are you in? Choose one, or type your city or the zone's name, "
        "for example {example}.",
        example="Europe/Berlin",
    )
    await sign_up(anna, Answers(handle="anna.fr"), resume_at="timezone")
    await sign_up(
        boris, Answers(language="ru", name="Борис", handle="boris.pl"), resume_at="timezone"
    )
    stored_anna = await people(app).by_account("fake", "1")
    stored_boris = await people(app).by_account("fake", "2")
    assert stored_anna is not None
    assert stored_boris is not None
    assert (stored_anna.display_name, stored_anna.country, stored_anna.language) == (
        "Anna",
        "ES",
        "en",
    )
    assert (stored_boris.display_name, stored_boris.country, stored_boris.language) == (
        "Борис",
        "DE",
        "ru",
    )


async def test_restart_mid_signup_resumes_at_the_same_step(
    settings: Settings, platform: FakePlatform, app: App
) -> None:
    await sign_up(Person(platform), until="followers")
    async with restarted(app, settings, platform) as (reopened, second):
        person = Person(second)
        await person.say("/start")
        assert person.inbox[-2].text == "Welcome back! Let's continue where you left off."
        assert person.last_text.startswith("How many followers do you have on Instagram?")
        await sign_up(person, Answers(niches=("food",)), resume_at="followers")
        stored = await people(reopened).by_account("fake", "1")
        assert stored is not None
        assert (stored.display_name, stored.socials[0].handle) == ("Anna", "anna.insta")
        assert stored.niches == ("food",)


async def test_restart_with_a_plain_answer_continues(
    settings: Settings, platform: FakePlatform, app: App
) -> None:
    await sign_up(Person(platform), until="country")
    async with restarted(app, settings, platform) as (_, second):
        await Person(second).say("DE")
        assert second.sent[-1].text.startswith("Which time zone")
        labels = [b.label for row in second.sent[-1].buttons for b in row]
        assert labels == ["Europe/Berlin", "Europe/Busingen"]


async def test_payout_details_are_not_kept_readable_anywhere_in_the_database(
    settings: Settings,
) -> None:
    """The update that carried them is kept a week to catch redeliveries: without its text."""
    app = await App.open(settings)
    try:
        async with serving(app, FakePlatform()) as fake:
            person = Person(fake)
            await sign_up(
                person, Answers(payout_method="iban", payout="DE89 3704 0044 0532 0130 00")
            )
            await person.say("/edit")
            await person.press_data("edit:payout")
            await person.press_data("pay:paypal")
            await person.say("hidden.anna@example.com")
        counts = await inbox(app).counts()
        assert set(counts) == {"handled"}
        assert counts["handled"] > 10
    finally:
        await app.close()
    stored = b"".join(path.read_bytes() for path in settings.database.parent.glob("kolbot.db*"))
    assert stored.count(b"Anna") > 0
    for secret in (b"0532 0130", b"0532013000", b"hidden.anna"):
        assert secret not in stored
