"""Names, countries, time zones and counts as people type them, through the whole flow."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.i18n import translator
from storage.models import ConversationKey
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import conversations, people
from tests.integration.signup import Answers, sign_up

NAME_ERROR = "A name needs at least one letter."
NAME_QUESTION = "What name should brands see?"
NETWORK_QUESTION = "Add a social account: which network is it on?"
ZONE_QUESTION = (
    "Which time zone are you in? Choose one, or type your city or the zone's name, for example "
    "{example}."
)


async def draft(app: App, person: Person) -> tuple[str, dict[str, object]]:
    key = ConversationKey(platform="fake", chat=person.chat.chat_id, user=person.user_id)
    conversation = await conversations(app).get(key)
    assert conversation is not None
    return conversation.step, conversation.data


async def stored_person(app: App, person: Person) -> tuple[str, str, str]:
    stored = await people(app).by_account("fake", person.user_id)
    assert stored is not None
    return stored.display_name, stored.country, stored.timezone


# Names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["-", "...", "💄✨", "123", "   ", "\u3164", "\u200f"])
async def test_a_name_without_letters_gets_one_message_and_the_question_again(
    app: App, platform: FakePlatform, answer: str
) -> None:
    person = Person(platform)
    await sign_up(person, until="name")
    replies = await person.say(answer)
    assert [reply.text for reply in replies] == [NAME_ERROR, NAME_QUESTION]
    assert (await draft(app, person))[0] == "name"


async def test_direction_marks_from_an_rtl_keyboard_are_taken_and_tidied(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(name="\u200fمحمد علي\u200f"))
    assert (await stored_person(app, person))[0] == "محمد علي"


async def test_a_platform_name_without_letters_is_not_offered(platform: FakePlatform) -> None:
    anna = Person(platform, user_id="1", display_name="Anna")
    await sign_up(anna, until="name")
    assert anna.labels() == ["Use “Anna”"]
    emoji = Person(platform, user_id="2", display_name="💄✨")
    await sign_up(emoji, until="name")
    assert emoji.last_text == NAME_QUESTION
    assert emoji.labels() == []


# Countries -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "typed", "country"),
    [
        ("en", "Polska", "PL"),
        ("en", "Deutschland", "DE"),
        ("fr", "Deutschland", "DE"),
        ("ru", "España", "ES"),
        ("pl", "Украина", "UA"),
        ("es", "Niemcy", "DE"),
    ],
)
async def test_a_country_named_in_any_language_whatever_the_chat_language(
    app: App, platform: FakePlatform, language: str, typed: str, country: str
) -> None:
    person = Person(platform)
    answers = Answers(language=language, country=typed)
    await sign_up(person, answers, until="timezone")
    assert (await draft(app, person))[1]["country"] == country
    await sign_up(person, answers, resume_at="timezone")
    assert (await stored_person(app, person))[1] == country


async def test_a_typo_in_a_country_offers_the_country_to_press(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, until="country")
    replies = await person.say("Germanyy")
    assert [reply.text for reply in replies] == [
        "We could not find that country. Did you mean Germany? Choose it below, or type the"
        " name again."
    ]
    assert [(b.label, b.data) for b in person.buttons()] == [("Germany", "country:DE")]
    assert (await draft(app, person))[0] == "country"
    await person.press("Germany")
    assert person.last_text == ZONE_QUESTION.format(example="Europe/Berlin")
    assert person.labels() == ["Europe/Berlin", "Europe/Busingen"]
    await sign_up(person, resume_at="timezone")
    assert (await stored_person(app, person))[1:] == ("DE", "Europe/Berlin")


async def test_a_typo_suggestion_in_the_users_language(platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, Answers(language="ru"), until="country")
    await person.say("Польшаа")
    t = translator("ru")
    assert person.last_text == t._(
        "We could not find that country. Did you mean {country}? Choose it below, or type the"
        " name again.",
        country="Польша",
    )
    assert person.labels() == ["Польша"]
    # Typing a name instead of pressing works as well; Poland keeps one zone, so it is not asked.
    await person.say("Polska")
    assert person.last_text == t._(NETWORK_QUESTION)


async def test_the_typo_suggestion_goes_stale(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, until="country")
    await person.say("Frnace")
    await person.say("PL")
    replies = await person.press_stale("country:FR")
    assert replies[0].text.startswith("That button belongs to an earlier question")
    assert (await draft(app, person))[1]["country"] == "PL"


# Time zones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "example"),
    [("DE", "Europe/Berlin"), ("US", "America/New_York"), ("ES", "Europe/Madrid"), ("BV", "UTC")],
)
async def test_the_time_zone_example_is_from_the_persons_country(
    platform: FakePlatform, country: str, example: str
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(country=country), until="timezone")
    assert person.last_text == ZONE_QUESTION.format(example=example)


@pytest.mark.parametrize(("country", "zone"), [("PL", "Europe/Warsaw"), ("JP", "Asia/Tokyo")])
async def test_a_country_of_one_zone_is_not_asked_for_it(
    app: App, platform: FakePlatform, country: str, zone: str
) -> None:
    person = Person(platform)
    await sign_up(person, until="country")
    replies = await person.say(country)
    assert [reply.text for reply in replies] == [NETWORK_QUESTION]
    assert (await draft(app, person))[1]["tz"] == zone
    # /back from the network goes to the country: there was no zone question in between.
    await person.say("/back")
    assert person.last_text.startswith("Which country do you live in?")
    await person.say(country)
    await sign_up(person, resume_at="network", until="review")
    assert f"Time zone: {zone}" in person.last_text
    await person.press_data("review:confirm")
    assert (await stored_person(app, person))[1:] == (country, zone)


async def test_a_new_country_of_one_zone_from_the_review_sets_its_zone(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, until="review")
    await person.press_data("edit:country")
    await person.say("Polska")
    assert person.last_text.startswith("Please check your answers:")
    assert "Country: Poland\nTime zone: Europe/Warsaw" in person.last_text


@pytest.mark.parametrize(
    ("country", "typed", "zone"),
    [
        ("ES", "Barcelona", "Europe/Madrid"),
        ("ES", "Las Palmas de Gran Canaria", "Atlantic/Canary"),
        ("US", "Los Angeles", "America/Los_Angeles"),
        ("US", "seattle", "America/Los_Angeles"),
        ("CA", "Vancouver", "America/Vancouver"),
        ("CA", "Montréal", "America/Toronto"),
        ("RU", "Новосибирск", "Asia/Novosibirsk"),
        ("DE", "München", "Europe/Berlin"),
    ],
)
async def test_a_city_of_the_country_gives_its_zone(
    app: App, platform: FakePlatform, country: str, typed: str, zone: str
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(country=country), until="timezone")
    replies = await person.say(typed)
    assert [reply.text for reply in replies] == [NETWORK_QUESTION]
    assert (await draft(app, person))[1]["tz"] == zone


async def test_places_of_one_name_in_several_zones_are_offered(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(country="US"), until="timezone")
    await person.say("Springfield")
    assert person.last_text == (
        "Places called Springfield in your country (United States) are in different time "
        "zones. Which one is yours?"
    )
    labels = person.labels()
    assert {"America/Chicago", "America/New_York"} <= set(labels)
    assert labels[-1] == "None of these"
    await person.press("America/Chicago")
    assert person.last_text == NETWORK_QUESTION
    assert (await draft(app, person))[1]["tz"] == "America/Chicago"


async def test_a_place_the_country_does_not_have_is_asked_again(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(country="ES"), until="timezone")
    question = person.last_text
    replies = await person.say("Atlantis")
    assert [reply.text for reply in replies] == [
        "We could not find that city or time zone: please send the name of a bigger city near"
        " you, or of your time zone, like Europe/Madrid.",
        question,
    ]


async def test_a_member_in_a_country_of_one_zone_edits_it_by_city(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(country="PL"))
    await person.say("/edit")
    await person.press_data("edit:timezone")
    assert person.last_text == ZONE_QUESTION.format(example="Europe/Warsaw")
    await person.say("Tokyo")
    assert "Time zone: Asia/Tokyo" in person.last_text
    await person.press_data("edit:timezone")
    await person.say("Kraków")
    assert person.last_text.startswith("Your profile:")
    assert (await stored_person(app, person))[1:] == ("PL", "Europe/Warsaw")


async def test_an_abbreviation_is_confirmed_as_the_countrys_zone(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(country="UA"), until="timezone")
    await person.say("EET")
    assert person.last_text == (
        "In your country (Ukraine), EET is Europe/Kyiv. Is that your time zone?"
    )
    assert person.labels() == ["Yes", "No, choose another"]
    assert (await draft(app, person))[0] == "timezone_confirm"
    await person.press("Yes")
    assert person.last_text == NETWORK_QUESTION
    await sign_up(person, resume_at="network")
    assert (await stored_person(app, person))[1:] == ("UA", "Europe/Kyiv")


async def test_an_abbreviation_with_several_zones_offers_them_all(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(country="US"), until="timezone")
    await person.say("est")
    assert person.last_text == (
        "In your country (United States), EST can be any of these time zones. Which one is yours?"
    )
    labels = person.labels()
    assert labels[0] == "America/New_York"
    assert "America/Detroit" in labels
    assert "America/Chicago" not in labels
    assert labels[-1] == "None of these"
    await person.press("America/Detroit")
    assert person.last_text == NETWORK_QUESTION
    assert (await draft(app, person))[1]["tz"] == "America/Detroit"


@pytest.mark.parametrize("typed", ["EST", "GMT", "pst"])
async def test_an_abbreviation_not_used_in_the_country_is_refused_with_its_zones(
    app: App, platform: FakePlatform, typed: str
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(country="DE"), until="timezone")
    question = person.last_text
    replies = await person.say(typed)
    assert [reply.text for reply in replies] == [
        f"{typed.upper()} is not used where you live. Your country's time zones: "
        "Europe/Berlin, Europe/Busingen.",
        question,
    ]
    assert (await draft(app, person))[0] == "timezone"
    assert "tz" not in (await draft(app, person))[1]


async def test_no_at_the_confirmation_asks_for_the_zone_again(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(country="DE"), until="timezone")
    await person.say("CET")
    assert person.labels() == ["Europe/Berlin", "Europe/Busingen", "None of these"]
    await person.press("None of these")
    assert person.last_text == ZONE_QUESTION.format(example="Europe/Berlin")
    await person.say("/back")
    await person.say("/back")
    assert person.last_text == ZONE_QUESTION.format(example="Europe/Berlin")
    await person.say("Europe/Busingen")
    assert person.last_text == NETWORK_QUESTION
    assert (await draft(app, person))[1]["tz"] == "Europe/Busingen"


async def test_the_confirmation_takes_a_typed_zone_and_back(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(country="UA"), until="timezone")
    await person.say("EET")
    assert (await draft(app, person))[0] == "timezone_confirm"
    await person.say("/back")
    assert person.last_text == ZONE_QUESTION.format(example="Europe/Kyiv")
    await person.say("EEST")
    assert person.last_text.startswith("In your country (Ukraine), EEST is Europe/Kyiv.")
    await person.say("Europe/London")
    assert person.last_text == NETWORK_QUESTION
    assert (await draft(app, person))[1]["tz"] == "Europe/London"


async def test_a_member_edits_the_time_zone_by_abbreviation(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(country="GB"))
    await person.say("/edit")
    await person.press_data("edit:timezone")
    await person.say("BST")
    assert person.last_text.startswith("In your country (United Kingdom), BST is Europe/London.")
    await person.press("Yes")
    assert person.last_text.startswith("Your profile:")
    assert "Time zone: Europe/London" in person.last_text
    await person.press_data("edit:country")
    await person.say("Deutschland")
    await person.say("CET")
    await person.press("Europe/Busingen")
    assert person.last_text.startswith("Your profile:")
    assert (await stored_person(app, person))[1:] == ("DE", "Europe/Busingen")


# Counts and links ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "typed", "followers"),
    [("es", "12 mil", 12_000), ("es", "1,2 millones", 1_200_000), ("fr", "12 mille", 12_000)],
)
async def test_follower_counts_in_words(
    app: App, platform: FakePlatform, language: str, typed: str, followers: int
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(language=language, followers=typed))
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert stored.socials[0].followers == followers


async def test_mil_in_english_is_asked_back_with_both_readings(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, until="followers")
    replies = await person.say("12 mil")
    assert [reply.text for reply in replies] == ["Do you mean 12,000 or 12,000,000 followers?"]
    assert person.labels() == ["12,000", "12,000,000"]
    assert (await draft(app, person))[0] == "followers"
    await person.press("12,000,000")
    assert person.last_text.startswith("Your accounts so far:")
    assert "Instagram @anna.insta: 12,000,000 followers" in person.last_text
    # The other reading, pressed now, belongs to a question already answered.
    replies = await person.press_stale("count:12000")
    assert replies[0].text.startswith("That button belongs to an earlier question")
    await sign_up(person, resume_at="more_socials")
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert stored.socials[0].followers == 12_000_000


async def test_a_members_count_edit_asks_mil_back_too(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person)
    await person.say("/edit")
    await person.press_data("edit:socials")
    await person.press("Instagram @anna.insta")
    await person.press("Change the follower count")
    await person.say("3 mil")
    assert person.labels() == ["3,000", "3,000,000"]
    await person.press("3,000")
    assert "Instagram @anna.insta: 3,000 followers" in person.last_text


async def test_a_numeric_facebook_profile_link(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    link = "https://www.facebook.com/profile.php?id=100012345678901"
    await sign_up(person, Answers(network="facebook", handle=link))
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert [(s.network, s.handle) for s in stored.socials] == [("facebook", "100012345678901")]
