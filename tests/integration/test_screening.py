"""The three authenticity outcomes at submit."""

from __future__ import annotations

from bot.app import App
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import people
from tests.integration.signup import Answers, sign_up


async def test_too_few_followers_is_rejected_politely(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person, Answers(followers="999"))
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert stored.status == "rejected"
    assert stored.status_reason == "followers_below_minimum"
    assert "at least 1,000 followers" in person.last_text
    assert "you have 999" in person.last_text


async def test_a_handle_claimed_by_someone_else_is_flagged(
    app: App, platform: FakePlatform
) -> None:
    first, second = Person(platform, user_id="1"), Person(platform, user_id="2")
    await sign_up(first, Answers(payout="first@example.com"))
    await sign_up(second, Answers(name="Impostor", payout="second@example.com"))
    impostor = await people(app).by_account("fake", "2")
    assert impostor is not None
    assert impostor.status == "applicant"
    assert await people(app).open_flags(impostor.id) == [
        ("handle_claimed", "instagram:anna.insta")
    ]
    assert "review it by hand" in second.last_text
    original = await people(app).by_account("fake", "1")
    assert original is not None
    assert await people(app).open_flags(original.id) == []


async def test_a_payout_used_by_someone_else_is_flagged(app: App, platform: FakePlatform) -> None:
    first, second = Person(platform, user_id="1"), Person(platform, user_id="2")
    await sign_up(first, Answers(handle="first.handle", payout="Shared@Example.com"))
    await sign_up(second, Answers(handle="second.handle", payout="shared@example.com"))
    other = await people(app).by_account("fake", "2")
    assert other is not None
    assert await people(app).open_flags(other.id) == [("payout_reused", "")]
    assert "review it by hand" in second.last_text


async def test_a_clean_application_is_accepted_for_review(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person)
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert stored.status == "applicant"
    assert await people(app).open_flags(stored.id) == []
    assert "under review" in person.last_text


async def test_editing_into_a_claimed_handle_flags_it(app: App, platform: FakePlatform) -> None:
    first, second = Person(platform, user_id="1"), Person(platform, user_id="2")
    await sign_up(first, Answers(handle="taken.handle", payout="a@example.com"))
    await sign_up(second, Answers(handle="own.handle", payout="b@example.com"))
    await second.say("/edit")
    await second.press_data("edit:socials")
    await second.press_data("net:instagram")
    await second.say("taken.handle")
    await second.say("20k")
    replies = await second.press_data("more:done")
    assert "review it by hand" in replies[0].text
    stored = await people(app).by_account("fake", "2")
    assert stored is not None
    assert ("handle_claimed", "instagram:taken.handle") in await people(app).open_flags(stored.id)


async def test_a_declined_applicant_applies_again_by_updating_accounts(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(followers="500"))
    await person.say("/edit")
    await person.press_data("edit:socials")
    await person.press_data("net:instagram")
    await person.say("anna.insta")
    await person.say("5k")
    replies = await person.press_data("more:done")
    assert replies[0].text == (
        "Your accounts now reach the minimum, so your application is back under review."
    )
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert stored.status == "applicant"
    assert stored.status_reason is None
