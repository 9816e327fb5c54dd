"""A place in a campaign, once taken, keeps its link: the last slot going closes the
campaign, and the cards of those who accepted are edited to say so with their link, promo
code, disclosure and post-by date still on them; /offers and the campaign's link show the
place again; a late press meets the reason the cards give."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine

from bot.app import App
from bot.core.messages import Outgoing
from bot.i18n import translator
from bot.services.offer_cards import AcceptOffer, DeclineOffer, OfferDetails, start_payload
from bot.services.publishing import close_ended
from handlers.offer_links import STATES
from storage.clock import utcnow
from storage.models import Campaign
from storage.models import Person as Stored
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import drained
from tests.integration.offers_setup import campaign, member, offer_now, send_offer

LINK = re.compile(r"https://acme\.example/boots\?\S+")
CODE = re.compile(r"\b[A-Z]{2,3}-[A-HJ-NP-Z2-9]{4}\b")
SECONDS = re.compile(r"\d:\d\d:\d\d")


async def closed_by_the_job(app: App) -> None:
    """The closing job's run, and its edits sent."""
    assert await close_ended(app.store) == 1
    app.outbox.wake()
    await drained(app)


def edit_of(person: Person, card: Outgoing) -> Outgoing:
    """The latest edit of the message ``card`` was sent as."""
    number = str(person.platform.sent.index(card) + 1)  # the fake's message ids count up
    edits = [m for m in person.inbox if m.edit_message_id == number]
    assert edits, f"the card {number} was never edited"
    return edits[-1]


async def taken(person: Person) -> tuple[str, str]:
    """Accept the latest card: the link and the code the acceptance gave."""
    [accepted] = await person.press_data(person.buttons(person.last)[0].data or "")
    [link] = LINK.findall(accepted.text)
    [code] = CODE.findall(accepted.text)
    return link, code


async def two_takers(
    app: App, platform: FakePlatform
) -> tuple[Campaign, list[tuple[Person, Stored]]]:
    """A campaign of two slots, and two members it matches: Anna in English, Ola in Polish."""
    made = await campaign(app, slots=2)
    anna = await member(app, platform, "1", name="Anna", country="PL")
    ola = await member(app, platform, "2", name="Ola", language="pl", country="PL")
    return made, [anna, ola]


async def test_the_last_slot_leaves_each_acceptors_card_with_its_link_and_code(
    app: App, platform: FakePlatform
) -> None:
    made, [(anna, anna_stored), (ola, ola_stored)] = await two_takers(app, platform)
    await send_offer(app, made, anna_stored)
    anna_card = anna.last
    anna_link, anna_code = await taken(anna)
    await send_offer(app, made, ola_stored)
    ola_card = ola.last
    ola_link, ola_code = await taken(ola)  # the last slot

    await closed_by_the_job(app)

    en, pl = translator("en"), translator("pl")
    edited = edit_of(anna, anna_card)
    assert edited.text.startswith("You are in: Acme: Winter boots")
    assert f"Your personal link: {anna_link}" in edited.text
    assert f"Your promo code: {anna_code}" in edited.text
    assert "Put #ad on your post" in edited.text
    assert f"Publish by {en.datetime(made.deadline, anna_stored.timezone)}," in edited.text
    assert edited.text.endswith(
        "This campaign takes no new creators any more. Your place in it stands: your link "
        "and promo code still work."
    )
    polish = edit_of(ola, ola_card)
    assert polish.text.startswith("Bierzesz udział: Acme: Winter boots")
    assert f"Twój osobisty link: {ola_link}" in polish.text
    assert f"Twój kod rabatowy: {ola_code}" in polish.text
    assert "#reklama" in polish.text
    assert f"Opublikuj do {pl.datetime(made.deadline, ola_stored.timezone)}," in polish.text
    assert polish.text.endswith("Twój link i kod rabatowy nadal działają.")
    assert "promocyjn" not in polish.text  # one name for the code, in every message
    assert SECONDS.search(edited.text) is None
    assert SECONDS.search(polish.text) is None
    assert edited.buttons == polish.buttons == ()


async def test_a_submitted_place_keeps_its_link_on_the_card_and_in_offers(
    app: App, platform: FakePlatform
) -> None:
    made, [(anna, anna_stored), (ola, ola_stored)] = await two_takers(app, platform)
    await send_offer(app, made, anna_stored)
    card = anna.last
    link, code = await taken(anna)
    await anna.say("/submit")
    await anna.say("https://www.instagram.com/p/Cboots1/")
    await send_offer(app, made, ola_stored)
    await taken(ola)

    await closed_by_the_job(app)

    deadline = translator("en").datetime(made.deadline, anna_stored.timezone)
    edited = edit_of(anna, card)
    assert f"Your personal link: {link}" in edited.text
    assert f"Your promo code: {code}" in edited.text
    assert "Put #ad on your post" in edited.text
    assert (
        f"Your post, due by {deadline}, is recorded: https://www.instagram.com/p/Cboots1/"
    ) in edited.text
    [listed] = await anna.say("/offers")
    assert listed.text.startswith("You are in: Acme: Winter boots")
    assert f"Your personal link: {link}" in listed.text
    assert f"Your promo code: {code}" in listed.text
    assert "is recorded: https://www.instagram.com/p/Cboots1/" in listed.text
    [again] = await anna.say(f"/start {start_payload(made.id)}")
    assert again.text.startswith("You accepted this offer already.")
    assert link in again.text
    assert code in again.text


async def test_offers_lists_an_accepted_place_with_its_link_while_the_campaign_runs(
    app: App, platform: FakePlatform
) -> None:
    anna, stored = await member(app, platform, "1", language="pl", name="Ola", country="PL")
    made = await campaign(app)
    await send_offer(app, made, stored)
    link, code = await taken(anna)
    [listed] = await anna.say("/offers")
    pl = translator("pl")
    assert listed.text == pl._(
        "You are in: {brand}: {title}\n\nYour personal link: {link}\nYour promo code: {code}"
        "\n\nPut {disclosure} on your post: a paid post must say that it is advertising.\n"
        "Publish by {deadline}, then send /submit with the link to your post.",
        brand="Acme",
        title="Winter boots",
        link=link,
        code=code,
        disclosure="#reklama",
        deadline=pl.datetime(made.deadline, stored.timezone),
    )


async def test_a_late_press_after_the_job_closed_a_full_campaign_is_told_it_is_full(
    app: App, platform: FakePlatform
) -> None:
    made = await campaign(app, slots=1)
    first, one = await member(app, platform, "1")
    late, two = await member(app, platform, "2", name="Ben")
    await send_offer(app, made, one)
    offer = await send_offer(app, made, two)
    await taken(first)

    await closed_by_the_job(app)

    full = "Sorry, the campaign is full: Acme: Winter boots has no slots left."
    assert (await offer_now(app, offer.id)).status == "withdrawn"
    assert late.last.text == (
        "Acme: Winter boots\n\nEvery place in this campaign is taken, so this offer is no "
        "longer open."
    )
    [accept] = await late.press_stale(AcceptOffer(offer=offer.id).pack())
    assert accept.text == full
    [decline] = await late.press_stale(DeclineOffer(offer=offer.id).pack())
    assert decline.text == full
    [details] = await late.press_stale(OfferDetails(offer=offer.id).pack())
    assert details.text.endswith(full)
    [link] = await late.say(f"/start {start_payload(made.id)}")
    assert link.text == STATES["full"] == "Every place in this campaign is taken."
    [listed] = await late.say("/offers")
    assert listed.text.startswith("You have no open offers right now.")


async def test_a_late_press_after_the_deadline_closed_a_campaign_says_so(
    app: App, platform: FakePlatform, clock: time_machine.Traveller
) -> None:
    made = await campaign(app, deadline=utcnow() + timedelta(hours=1))
    late, stored = await member(app, platform, "1")
    offer = await send_offer(app, made, stored)
    clock.shift(timedelta(hours=2))  # past the deadline; the card is recent, so it is edited

    await closed_by_the_job(app)

    assert late.last.text.endswith(
        "This campaign's deadline has passed, so this offer is no longer open."
    )
    [accept] = await late.press_stale(AcceptOffer(offer=offer.id).pack())
    assert accept.text == (
        "Acme: Winter boots is past its deadline: it no longer takes acceptances."
    )
    [link] = await late.say(f"/start {start_payload(made.id)}")
    assert link.text == STATES["deadline"] == "This campaign's deadline has passed."
