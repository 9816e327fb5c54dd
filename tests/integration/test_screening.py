"""Screening: the outcomes at submit, and again whenever the accounts change."""

from __future__ import annotations

from pathlib import Path

from bot.app import App
from bot.core.messages import Outgoing
from bot.services.people import change_status, submit_application
from storage.clock import utcnow
from storage.models import AccountLink, PersonStatus, Profile, SealedPayout, SocialClaim
from storage.sqlite.database import Database
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import people
from tests.integration.signup import Answers, sign_up


async def test_too_few_followers_stop_the_signup_at_the_accounts(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, Answers(followers="500"), until="niches")
    assert person.inbox[-2].text == (
        "The programme needs at least 1,000 followers across your accounts, and you have "
        "500. Add another account if you have one, or send /cancel to stop."
    )
    assert person.last_text.startswith("Your accounts so far:")
    assert [b.data for b in person.buttons()] == ["more:add", "more:done"]
    assert not any("paid" in message.text for message in person.inbox)
    await person.press_data("more:add")
    await person.press_data("net:tiktok")
    await person.say("anna.tok")
    await person.say("600")
    await person.press_data("more:done")
    assert person.last_text.startswith("Which topics do you post about?")
    await sign_up(person, resume_at="niches")
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert (stored.status, stored.total_followers) == ("applicant", 1_100)


async def test_an_application_below_the_minimum_is_declined_by_screening(app: App) -> None:
    """Answers kept from before the minimum was raised still meet it at submission."""
    profile = await sample_profile(followers=999)
    account = AccountLink(platform="fake", platform_user_id="1", dm_chat="fake:1")
    async with app.store.unit_of_work() as uow:
        person = await submit_application(uow, profile, account, 1000)
    assert (person.status, person.status_reason, person.status_by) == (
        "rejected",
        "followers_below_minimum",
        "screening",
    )


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
    await sign_up(second, Answers(network="tiktok", handle="own", payout="b@example.com"))
    await second.say("/edit")
    await second.press_data("edit:socials")
    await second.press_data("more:add")
    await second.press_data("net:instagram")
    await second.say("taken.handle")
    await second.say("20k")
    replies = await second.press_data("more:done")
    assert "review it by hand" in replies[0].text
    stored = await people(app).by_account("fake", "2")
    assert stored is not None
    assert ("handle_claimed", "instagram:taken.handle") in await people(app).open_flags(stored.id)
    assert [s.handle for s in stored.socials] == ["own", "taken.handle"]


async def set_followers(person: Person, followers: str) -> list[Outgoing]:
    """Change the one Instagram account's count in /edit; the replies to saving it."""
    await person.say("/edit")
    await person.press_data("edit:socials")
    await person.press_data("acct:instagram:open")
    await person.press_data("acct:instagram:followers")
    await person.say(followers)
    replies = await person.press_data("more:done")
    await person.press_data("review:done")
    return replies


async def test_an_applicant_below_the_minimum_is_declined_and_above_it_applies_again(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person)
    replies = await set_followers(person, "10")
    assert replies[0].text == (
        "Thank you for applying, Anna. The programme needs at least 1,000 followers across "
        "your accounts, and you have 10. You are welcome to apply again when your audience "
        "has grown: update your accounts with /edit."
    )
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert (stored.status, stored.status_reason, stored.status_by) == (
        "rejected",
        "followers_below_minimum",
        "screening",
    )
    replies = await set_followers(person, "5k")
    assert replies[0].text == (
        "Your accounts now reach the minimum, so your application is back under review."
    )
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    assert (stored.status, stored.status_reason) == ("applicant", None)


async def test_an_approved_member_below_the_minimum_is_flagged_not_declined(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person)
    member = await operator_sets(app, "applicant", "approved")
    for followers in ("10", "20"):
        replies = await set_followers(person, followers)
        assert replies[0].text == (
            "Saved. Your accounts are now below the programme's minimum of 1,000 followers: "
            f"you have {followers}. Our team will review your membership."
        )
    stored = await people(app).get(member)
    assert stored is not None
    assert stored.status == "approved"
    # One open flag, however often it is raised.
    assert stored.flags == (("followers_below_minimum", ""),)


async def test_a_member_back_above_the_minimum_is_no_longer_flagged_for_it(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person)
    member = await operator_sets(app, "applicant", "approved")
    await set_followers(person, "10")
    replies = await set_followers(person, "50k")
    # Saved and back on the profile, with nothing said about the status.
    assert [r.text.split("\n")[0] for r in replies] == ["Your profile:"]
    stored = await people(app).get(member)
    assert stored is not None
    assert (stored.status, stored.total_followers, stored.flags) == ("approved", 50_000, ())
    # A later drop raises it afresh.
    await set_followers(person, "10")
    stored = await people(app).get(member)
    assert stored is not None
    assert stored.flags == (("followers_below_minimum", ""),)


async def test_an_operators_rejection_stands_whatever_is_edited(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person)
    rejected = await operator_sets(app, "applicant", "rejected", "followers_below_minimum")
    replies = await set_followers(person, "50k")
    # Saved and back on the profile, with nothing said about the status.
    assert [r.text.split("\n")[0] for r in replies] == ["Your profile:"]
    stored = await people(app).get(rejected)
    assert stored is not None
    assert (stored.status, stored.status_by, stored.total_followers) == (
        "rejected",
        "operator",
        50_000,
    )


async def test_people_screened_before_the_upgrade_keep_who_decided(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "old.db", migrate=False)
    try:
        await db.upgrade(until=2)
        async with db.writing() as session:
            for status, reason in (
                ("applicant", None),
                ("rejected", "followers_below_minimum"),
                ("approved", None),
            ):
                await session.run(
                    "INSERT INTO people (display_name, language, country, timezone, status, "
                    "status_reason, consent_version, consent_at, created_at, updated_at) "
                    "VALUES ('A', 'en', 'DE', 'Europe/Berlin', ?, ?, 'v', 't', 't', 't')",
                    (status, reason),
                )
        await db.upgrade()
        rows = await db.fetchall("SELECT status, status_by FROM people ORDER BY id")
        assert [tuple(row) for row in rows] == [
            ("applicant", "screening"),
            ("rejected", "screening"),
            ("approved", "operator"),
        ]
    finally:
        await db.close()


async def operator_sets(
    app: App, expected: PersonStatus, status: PersonStatus, reason: str | None = None
) -> int:
    async with app.store.unit_of_work() as uow:
        person = await uow.people.by_account("fake", "1")
        assert person is not None
        assert await change_status(uow, person.id, expected, status, "operator:7", reason)
    return person.id


async def sample_profile(followers: int) -> Profile:
    return Profile(
        display_name="Anna",
        language="en",
        country="DE",
        timezone="Europe/Berlin",
        socials=(SocialClaim(network="instagram", handle="anna", followers=followers),),
        niches=("tech",),
        payout=SealedPayout(
            method="paypal", sealed="x", masked="a***@example.com", fingerprint="f"
        ),
        consent_version="v",
        consent_at=utcnow(),
    )
