"""The review card and /profile agree with each other and with the language in use."""

from __future__ import annotations

from tests.fakes.platform import FakePlatform, Person
from tests.integration.signup import Answers, sign_up


async def test_text_at_the_review_asks_for_a_choice(platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, until="review")
    card = person.last
    replies = await person.say("looks good")
    assert replies[0].text == "Please choose one of the options below."
    assert replies[1] == card


async def test_review_and_profile_list_topics_in_one_order(platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, Answers(niches=("tech", "fashion", "beauty")), until="review")
    assert "Topics: Fashion, Beauty, Tech" in person.last_text
    await person.press_data("review:confirm")
    profile = (await person.say("/profile"))[0].text
    assert "Topics: Fashion, Beauty, Tech" in profile


async def test_language_switched_during_an_edit_stays_on_the_card(
    platform: FakePlatform,
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(language="pl"))
    await person.say("/edit")
    await person.press_data("edit:name")
    await person.say("/language")
    await person.press_data("setlang:en")
    await person.say("/back")
    assert person.last_text.startswith("Your profile:")
    assert "Language: English" in person.last_text
    assert "Polski" not in person.last_text


async def test_language_switched_during_a_signup_edit_survives_back(
    platform: FakePlatform,
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(language="pl"), until="review")
    await person.press_data("edit:name")
    await person.say("/language")
    await person.press_data("setlang:en")
    await person.say("/back")
    assert person.last_text.startswith("Please check your answers:")
    assert "Language: English" in person.last_text


async def test_the_card_lists_its_fields_in_the_order_of_the_edit_buttons(
    platform: FakePlatform,
) -> None:
    person = Person(platform)
    await sign_up(person, until="review")
    fields = [line.split(":")[0] for line in person.last_text.splitlines() if ":" in line]
    edits = [label.removeprefix("Edit: ") for label in person.labels() if label.startswith("Edit")]
    assert [field for field in fields if field in edits] == edits
