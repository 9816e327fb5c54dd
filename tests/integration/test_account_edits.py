"""Editing social accounts one at a time: the others are kept, whatever is changed."""

from __future__ import annotations

from bot.app import App
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import people
from tests.integration.signup import Answers, sign_up

ACCOUNTS = (
    ("instagram", "anna.insta", "12k"),
    ("tiktok", "anna.tok", "3k"),
    ("youtube", "annatube", "2k"),
)


async def sign_up_with(person: Person, accounts: tuple[tuple[str, str, str], ...]) -> None:
    (network, handle, followers), *more = accounts
    await sign_up(
        person, Answers(network=network, handle=handle, followers=followers), until="more_socials"
    )
    for network, handle, followers in more:
        await person.press_data("more:add")
        await person.press_data(f"net:{network}")
        await person.say(handle)
        await person.say(followers)
    await sign_up(person, resume_at="more_socials")


async def stored_accounts(app: App) -> list[tuple[str, str, int]]:
    stored = await people(app).by_account("fake", "1")
    assert stored is not None
    return [(s.network, s.handle, s.followers) for s in stored.socials]


async def test_changing_one_accounts_followers_keeps_the_others(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up_with(person, ACCOUNTS)
    await person.say("/edit")
    await person.press_data("edit:socials")
    assert person.last_text == (
        "Your accounts so far:\n"
        "• Instagram @anna.insta: 12,000 followers\n"
        "• TikTok @anna.tok: 3,000 followers\n"
        "• YouTube @annatube: 2,000 followers\n"
        "Choose an account to change its handle or follower count, or to remove it."
    )
    assert [b.data for b in person.buttons()] == [
        "acct:instagram:open",
        "acct:tiktok:open",
        "acct:youtube:open",
        "more:add",
        "more:done",
    ]
    await person.press_data("acct:tiktok:open")
    assert person.last_text.startswith("• TikTok @anna.tok: 3,000 followers\nWhat would you")
    await person.press_data("acct:tiktok:followers")
    assert person.last_text.startswith("How many followers do you have on TikTok?")
    await person.say("5k")
    assert "• TikTok @anna.tok: 5,000 followers" in person.last_text
    await person.press_data("more:done")
    assert person.last_text.startswith("Your profile:")
    await person.press_data("review:done")
    assert await stored_accounts(app) == [
        ("instagram", "anna.insta", 12_000),
        ("tiktok", "anna.tok", 5_000),
        ("youtube", "annatube", 2_000),
    ]


async def test_removing_one_and_adding_one_keeps_the_rest(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up_with(person, ACCOUNTS)
    await person.say("/edit")
    await person.press_data("edit:socials")
    await person.press_data("acct:youtube:open")
    await person.press_data("acct:youtube:remove")
    assert "YouTube" not in person.last_text
    # A button about the removed account, pressed on an earlier message, changes nothing.
    replies = await person.press_stale("acct:youtube:open")
    assert replies[0].text.startswith("That button belongs to an earlier question.")
    await person.press_data("more:add")
    await person.press_data("net:x")
    await person.say("anna_x")
    await person.say("800")
    await person.press_data("more:done")
    await person.press_data("review:done")
    assert await stored_accounts(app) == [
        ("instagram", "anna.insta", 12_000),
        ("tiktok", "anna.tok", 3_000),
        ("x", "anna_x", 800),
    ]


async def test_typed_labels_work_like_the_buttons(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up_with(person, ACCOUNTS[:2])
    await person.say("/edit")
    await person.press_data("edit:socials")
    await person.say("instagram @anna.insta")
    assert person.last_text.startswith("• Instagram @anna.insta")
    await person.say("Change the follower count")
    await person.say("15k")
    await person.say("TikTok @anna.tok")
    await person.say("remove this account")
    replies = await person.say("Carry on")
    assert replies[0].text == "Please choose one of the options below."
    await person.say("Continue")
    assert person.last_text.startswith("Your profile:")
    await person.press_data("review:done")
    assert await stored_accounts(app) == [("instagram", "anna.insta", 15_000)]


async def test_the_only_account_cannot_be_removed(app: App, platform: FakePlatform) -> None:
    person = Person(platform)
    await sign_up(person)
    await person.say("/edit")
    await person.press_data("edit:socials")
    await person.press_data("acct:instagram:open")
    replies = await person.press_data("acct:instagram:remove")
    assert replies[0].text == "This is your only account. Add another one before you remove it."
    await person.press_data("acct:instagram:keep")
    await person.press_data("more:done")
    await person.press_data("review:done")
    assert await stored_accounts(app) == [("instagram", "anna.insta", 12_000)]


async def test_a_renamed_account_gets_its_new_handle_and_keeps_its_followers(
    app: App, platform: FakePlatform
) -> None:
    """The only account cannot be removed, nor another added on its network: its handle is
    changed where it is."""
    person = Person(platform)
    await sign_up(person)
    await person.say("/edit")
    await person.press_data("edit:socials")
    await person.press_data("acct:instagram:open")
    assert [b.label for b in person.buttons()] == [
        "Change the handle",
        "Change the follower count",
        "Remove this account",
        "Keep it as it is",
    ]
    await person.press_data("acct:instagram:handle")
    assert person.last_text == (
        "What is your Instagram handle? You can also paste your profile link."
    )
    replies = await person.say("anna..renamed")
    assert replies[0].text.startswith("Instagram handles use letters")
    await person.say("https://instagram.com/anna.renamed/")
    assert person.last_text.startswith(
        "Your accounts so far:\n• Instagram @anna.renamed: 12,000 followers"
    )
    await person.press_data("more:done")
    await person.press_data("review:done")
    assert await stored_accounts(app) == [("instagram", "anna.renamed", 12_000)]


async def test_back_out_of_an_accounts_edit_restores_them(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up_with(person, ACCOUNTS[:2])
    await person.say("/edit")
    await person.press_data("edit:socials")
    await person.press_data("acct:tiktok:open")
    await person.press_data("acct:tiktok:remove")
    # The removed account cannot be asked about again: /back shows the list.
    await person.say("/back")
    assert person.last_text.startswith("Your accounts so far:")
    assert "TikTok" not in person.last_text
    await person.say("/back")
    await person.say("/back")
    assert person.last_text.startswith("Your profile:")
    assert "TikTok @anna.tok: 3,000 followers" in person.last_text
    await person.press_data("review:done")
    assert [a for a, _, _ in await stored_accounts(app)] == ["instagram", "tiktok"]


async def test_the_review_screen_of_a_signup_edits_accounts_one_at_a_time(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person, until="review")
    await person.press_data("edit:socials")
    await person.press_data("acct:instagram:open")
    await person.press_data("acct:instagram:followers")
    await person.say("30k")
    await person.press_data("more:done")
    assert "Instagram @anna.insta: 30,000 followers" in person.last_text
    await person.press_data("review:confirm")
    assert await stored_accounts(app) == [("instagram", "anna.insta", 30_000)]
