"""/offers, /submit and the campaign's deep link, through the whole stack."""

from __future__ import annotations

import pytest

from bot import campaign_cli
from bot.app import App
from bot.i18n import translator
from bot.services.campaigns import report
from bot.services.offer_cards import AcceptOffer, OpenOffer, start_payload
from handlers.campaign_cards import report_card
from handlers.commands import OFFER_FOR_MEMBERS, OFFER_SIGNUP_FIRST
from handlers.offer_links import CLOSED, NO_MATCH, NOT_FOR_YOU, STATES, UNDER_REVIEW
from handlers.offers import NOT_APPROVED_YET
from handlers.submissions import SubmitChoice
from storage.clock import utcnow
from storage.models import AlertSettings, ConversationKey
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import conversations
from tests.integration.offers_setup import campaign, member, offer_now, send_offer
from tests.integration.signup import Answers, sign_up


async def test_offers_lists_open_and_accepted_offers(app: App, platform: FakePlatform) -> None:
    anna, stored = await member(app, platform, "1")
    [none] = await anna.say("/offers")
    assert none.text.startswith("You have no open offers right now.")
    boots = await send_offer(app, await campaign(app), stored)
    await send_offer(app, await campaign(app, brand="Brandly"), stored)
    closed = await campaign(app, brand="Gone")
    await send_offer(app, closed, stored)
    async with app.store.unit_of_work() as uow:
        await uow.campaigns.change_status(closed.id, ["published"], "closed", utcnow())
    await anna.press_stale(AcceptOffer(offer=boots.id).pack())
    listed = await anna.say("/offers")
    assert [m.text.splitlines()[0] for m in listed] == [
        "Brandly: Winter boots",
        "You are in: Acme: Winter boots",
    ]
    assert anna.labels(listed[0]) == ["Accept", "Decline", "Details"]
    assert "Your promo code: ANN-" in listed[1].text
    assert "Your personal link: https://acme.example/boots?" in listed[1].text


async def test_submit_checks_the_link_is_on_the_persons_networks(
    app: App, platform: FakePlatform
) -> None:
    anna, stored = await member(app, platform, "1")
    [nothing] = await anna.say("/submit")
    assert nothing.text.startswith("You have no accepted offer waiting for your post.")
    offer = await send_offer(app, await campaign(app), stored)
    await anna.press("Accept")
    [asked] = await anna.say("/submit")
    assert asked.text == "Send me the link to your published post for Acme: Winter boots."
    [wrong, again] = await anna.say("https://www.tiktok.com/@anna/video/1")
    assert wrong.text.startswith("That link is not on one of your social accounts' networks")
    assert "(Instagram)" in wrong.text
    assert again.text == asked.text
    [home, _] = await anna.say("instagram.com")
    assert home.text.startswith("That link leads to a home page")
    [done] = await anna.say("https://www.instagram.com/p/Cboots1/")
    assert done.text == (
        "Thank you! Your post for Acme: Winter boots is recorded: "
        "https://www.instagram.com/p/Cboots1/"
    )
    saved = await offer_now(app, offer.id)
    assert (saved.status, saved.content_url) == (
        "submitted",
        "https://www.instagram.com/p/Cboots1/",
    )
    assert await conversations(app).get(key_of(anna)) is None


async def test_submit_takes_only_the_persons_own_posts(
    app: App, platform: FakePlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    anna, stored = await member(app, platform, "1")
    made = await campaign(app)
    offer = await send_offer(app, made, stored)
    await anna.press("Accept")
    [asked] = await anna.say("/submit")
    [word, again] = await anna.say("hello")
    assert word.text == "Please send the link to your post, starting with https://"
    assert again.text == asked.text
    [theirs, _] = await anna.say("https://www.instagram.com/someoneelse/p/abc")
    assert theirs.text == (
        "That link is to a post of @someoneelse on Instagram, and your account there is "
        "@creator1. Please send the link to the post you published."
    )
    assert (await offer_now(app, offer.id)).status == "accepted"
    await anna.say("https://www.instagram.com/Creator1/p/abc")
    saved = await offer_now(app, offer.id)
    assert (saved.status, saved.content_handle) == ("submitted", "creator1")

    # A link that names no account is taken, and the agency sees it is tied to none.
    second = await send_offer(app, await campaign(app, brand="Brandly"), stored)
    await anna.press("Accept")
    await anna.say("/submit")
    [done] = await anna.say("instagram.com/p/Cboots2")
    assert done.text.startswith("Thank you! Your post for Brandly: Winter boots is recorded")
    unmatched = await offer_now(app, second.id)
    assert (unmatched.status, unmatched.content_handle) == ("submitted", None)
    async with app.store.reading() as uow:
        shown = await report(uow, second.campaign_id)
        matched = await report(uow, made.id)
    assert shown is not None
    assert matched is not None
    en = translator("en")
    assert report_card(en, shown, "UTC").endswith("\nPosts not matched to an account: 1")
    assert "not matched" not in report_card(en, matched, "UTC")
    assert await campaign_cli._status(app.store, second.campaign_id, False, 1.0) == 0
    assert await campaign_cli._status(app.store, made.id, False, 1.0) == 0
    printed = capsys.readouterr().out
    assert "posts (1 not matched to an account), latest first:" in printed
    assert "Anna: https://instagram.com/p/Cboots2  not matched to an account" in printed
    assert "posts (0 not matched to an account), latest first:" in printed
    assert "Anna: https://www.instagram.com/Creator1/p/abc  @creator1" in printed


def key_of(person: Person) -> ConversationKey:
    return ConversationKey(
        platform=person.platform.name, chat=person.chat.chat_id, user=person.user_id
    )


async def test_submit_asks_which_offer_when_several_wait(app: App, platform: FakePlatform) -> None:
    anna, stored = await member(app, platform, "1")
    await send_offer(app, await campaign(app), stored)
    await anna.press("Accept")
    second = await send_offer(app, await campaign(app, brand="Brandly"), stored)
    await anna.press("Accept")
    [which] = await anna.say("/submit")
    assert which.text == "Which offer is your post for?"
    assert anna.labels(which) == ["Brandly: Winter boots", "Acme: Winter boots", "Cancel"]
    [asked] = await anna.press("Brandly: Winter boots")
    assert asked.text == "Send me the link to your published post for Brandly: Winter boots."
    await anna.say("https://instagram.com/reel/xyz")
    assert (await offer_now(app, second.id)).status == "submitted"

    await anna.say("/submit")
    [cancelled] = await anna.press("Cancel")
    assert cancelled.text == "Cancelled: nothing was recorded."

    # A third, to go back and forth: /back returns to the choice, /cancel stops.
    await send_offer(app, await campaign(app, brand="Cosmo"), stored)
    await anna.press("Accept")
    await anna.say("/submit")
    await anna.press("Cosmo: Winter boots")
    [back] = await anna.say("/back")
    assert back.text == "Which offer is your post for?"
    await anna.press("Cosmo: Winter boots")
    [stopped] = await anna.say("/cancel")
    assert stopped.text == "Cancelled: nothing was recorded."
    assert await conversations(app).get(key_of(anna)) is None


async def test_a_forged_submit_choice_is_refused(app: App, platform: FakePlatform) -> None:
    anna, anna_stored = await member(app, platform, "1")
    eve, eve_stored = await member(app, platform, "2", name="Eve")
    made = await campaign(app)
    annas = await send_offer(app, made, anna_stored)
    await anna.press("Accept")
    await send_offer(app, await campaign(app, brand="Brandly"), eve_stored)
    await eve.press("Accept")
    await send_offer(app, await campaign(app, brand="Third"), eve_stored)
    await eve.press("Accept")
    await eve.say("/submit")
    [refused] = await eve.press_forged(SubmitChoice(offer=annas.id).pack())
    assert refused.text == "You are not allowed to do this."
    assert (await offer_now(app, annas.id)).status == "accepted"


async def test_the_deep_link_answers_everyone_who_can_follow_it(
    app: App, platform: FakePlatform
) -> None:
    made = await campaign(app, countries=("PL",), min_followers=50_000)
    link = f"/start {start_payload(made.id)}"

    guest = Person(platform, user_id="10")
    [invited, welcome, question] = await guest.say(link)
    assert invited.text == OFFER_FOR_MEMBERS
    assert welcome.text.startswith("Welcome! I will sign you up")
    assert question.text == "Choose your language:"

    halfway = Person(platform, user_id="11")
    await sign_up(halfway, Answers(), until="country")
    asked = halfway.last_text
    before = await conversations(app).get(key_of(halfway))
    [told, back, again] = await halfway.say(link)
    assert told.text == OFFER_SIGNUP_FIRST
    assert back.text == "Welcome back! Let's continue where you left off."
    assert again.text == asked
    after = await conversations(app).get(key_of(halfway))
    assert (after.flow, after.step, after.data) == (before.flow, before.step, before.data)
    await sign_up(halfway, Answers(handle="half.way"), resume_at="country")
    assert halfway.last_text.startswith("Thank you")

    applicant, _ = await member(app, platform, "12", approve=False, language="es")
    [waiting] = await applicant.say(link)
    assert waiting.text == translator("es")._(UNDER_REVIEW)
    [not_yet] = await applicant.say("/offers")
    assert not_yet.text == translator("es")._(NOT_APPROVED_YET)

    other, _ = await member(app, platform, "13")  # in Germany, 12,000 followers
    [mismatch] = await other.say(link)
    assert mismatch.text == NO_MATCH
    [unknown] = await other.say("/start offer-999")
    assert unknown.text == CLOSED
    draft = await campaign(app, status="draft")
    [hidden] = await other.say(f"/start {start_payload(draft.id)}")
    assert hidden.text == CLOSED


async def test_a_matching_member_gets_the_card_from_the_link(
    app: App, platform: FakePlatform
) -> None:
    made = await campaign(app)
    anna, stored = await member(app, platform, "1")  # approved: the offer came already
    assert anna.last_text.startswith("Acme: Winter boots")
    [card] = await anna.say(f"/start {start_payload(made.id)}")
    assert card.text.startswith("Acme: Winter boots\nShow the boots in snow.")
    assert anna.labels(card) == ["Accept", "Decline", "Details"]
    [accepted] = await anna.press("Accept")
    assert accepted.text.startswith("You are in: Acme: Winter boots")

    # Mid-edit, the answer comes first and the open question after it.
    await anna.say("/edit")
    review_screen = anna.last_text
    [answer, screen] = await anna.say(f"/start {start_payload(made.id)}")
    assert answer.text.startswith("You accepted this offer already.\n\nYou are in: Acme")
    assert screen.text == review_screen

    async with app.store.unit_of_work() as uow:
        await uow.people.change_status(stored.id, "approved", "suspended", "x", "cli")
    [suspended, _] = await anna.say(f"/start {start_payload(made.id)}")
    assert suspended.text == NOT_FOR_YOU


async def test_a_card_opened_from_a_group_post_is_answered_privately(
    app: App, platform: FakePlatform
) -> None:
    made = await campaign(app)
    _anna, stored = await member(app, platform, "1")
    in_group = Person(platform, user_id="1", is_private=False, chat_id="group-7")
    [card] = await in_group.press_forged(OpenOffer(campaign=made.id).pack())
    assert card.private_reply
    assert in_group.labels(card) == ["Accept", "Decline", "Details"]
    [accepted] = await in_group.press("Accept")
    assert accepted.private_reply
    assert accepted.text.startswith("You are in: Acme: Winter boots")
    async with app.store.reading() as uow:
        offer = await uow.offers.of_campaign_person(made.id, stored.id)
    assert offer is not None
    assert offer.status == "accepted"


async def test_alerts_turned_off_hold_back_offers_not_the_link_someone_follows(
    app: App, platform: FakePlatform
) -> None:
    """Alerts off means no offers pushed; a matching member who opens a campaign's post
    themselves is offered it, not told the campaign looks for other creators."""
    anna, stored = await member(app, platform, "1")
    async with app.store.unit_of_work() as uow:
        await uow.alerts.save(AlertSettings(person_id=stored.id, mode="off"), utcnow())
    made = await campaign(app)
    [card] = await anna.say(f"/start {start_payload(made.id)}")
    assert card.text.startswith("Acme: Winter boots\nShow the boots in snow.")
    assert anna.labels(card) == ["Accept", "Decline", "Details"]
    [accepted] = await anna.press("Accept")
    assert accepted.text.startswith("You are in: Acme: Winter boots")


async def test_the_link_to_a_full_campaign_says_it_is_full(
    app: App, platform: FakePlatform
) -> None:
    """Until the job closes it, a campaign whose last slot went is full, not closed."""
    made = await campaign(app, slots=1)
    first, _ = await member(app, platform, "1")
    await first.press("Accept")
    async with app.store.reading() as uow:
        taken = await uow.campaigns.get(made.id)
    assert taken is not None
    assert taken.slots_left == 0
    late, _ = await member(app, platform, "2", country="Germany")
    [told] = await late.say(f"/start {start_payload(made.id)}")
    assert told.text == STATES["full"]
