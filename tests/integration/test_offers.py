"""An influencer's offer through the whole stack: the card, Accept, Decline, Details, and
every press that cannot go through. Forged presses name offers no card gave the presser."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

from bot.app import App
from bot.i18n import translator
from bot.services.offer_cards import AcceptOffer, DeclineOffer, OfferDetails
from handlers.access import NOT_ALLOWED
from handlers.offer_links import NOT_FOR_YOU, PAUSED, SIGN_UP_FIRST
from handlers.offers import DeclineFor
from storage.clock import utcnow
from storage.models import Commission
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import drained
from tests.integration.offers_setup import campaign, member, offer_now, send_offer

LINK = re.compile(r"https://acme\.example/boots\?\S+")
CODE = re.compile(r"\b[A-Z]{2,3}-[A-HJ-NP-Z2-9]{4}\b")


async def test_the_card_speaks_the_persons_language_money_and_time(
    app: App, platform: FakePlatform
) -> None:
    ola, stored = await member(app, platform, "1", language="pl", name="Ola")
    made = await campaign(
        app, commission=Commission.fixed(2500, "EUR"), deadline=utcnow() + timedelta(days=3)
    )
    await send_offer(app, made, stored)
    card = ola.last
    pl = translator("pl")
    assert card.text.startswith("Acme: Winter boots\nShow the boots")
    fixed = "25,00\xa0€ za każdą sprzedaż"
    assert pl._("Commission: {commission}", commission=fixed) in card.text
    assert pl.datetime(made.deadline, stored.timezone) in card.text
    assert "Zostały 3 miejsca" in card.text
    assert ola.labels(card) == ["Akceptuję", "Odrzucam", "Szczegóły"]

    percent = await campaign(app, brand="Brandly", commission=Commission.percent(1250))
    await send_offer(app, percent, stored)
    assert "12,5% od każdej sprzedaży" in ola.last_text


async def test_accept_gives_a_link_a_code_and_the_disclosure(
    app: App, platform: FakePlatform
) -> None:
    zoe, stored = await member(app, platform, "1", name="Zoé", language="fr")
    made = await campaign(app)
    offer = await send_offer(app, made, stored)
    [accepted] = await zoe.press("Accepter")
    assert accepted.edit_message_id is not None  # the card becomes the acceptance
    assert accepted.text.startswith("C'est parti : Acme : Winter boots")
    assert "#publicité" in accepted.text
    [link] = LINK.findall(accepted.text)
    [code] = CODE.findall(accepted.text)
    assert code.startswith("ZOE-")
    parts = urlsplit(link)
    query = parse_qsl(parts.query)
    assert query[:2] == [("utm_source", "kolbot"), ("lang", "de")]
    assert parts.fragment == "buy"
    saved = await offer_now(app, offer.id)
    assert query[2] == ("ref", saved.ref_code)
    assert (saved.status, saved.promo_code) == ("accepted", code)
    async with app.store.reading() as uow:
        left = await uow.campaigns.get(made.id)
    assert left is not None
    assert left.slots_left == 2

    # The card pressed again: the same link and code, no second slot.
    [again] = await zoe.press_stale(AcceptOffer(offer=offer.id).pack())
    assert link in again.text
    assert code in again.text
    async with app.store.reading() as uow:
        still = await uow.campaigns.get(made.id)
    assert still is not None
    assert still.slots_left == 2


async def test_imported_codes_go_first_then_made_up_ones(app: App, platform: FakePlatform) -> None:
    made = await campaign(app, slots=2)
    async with app.store.unit_of_work() as uow:
        await uow.campaigns.import_codes(made.id, ["SHOP-ONE"])
    codes = []
    for user in ("1", "2"):
        person, stored = await member(app, platform, user, name=f"Ann{user}")
        await send_offer(app, made, stored)
        [accepted] = await person.press("Accept")
        codes.append(accepted.text)
    assert "Your promo code: SHOP-ONE" in codes[0]
    assert CODE.search(codes[1]) is not None
    assert "SHOP-ONE" not in codes[1]
    assert "Put #ad on your post" in codes[1]


async def test_late_presses_are_told_the_campaign_is_full(
    app: App, platform: FakePlatform
) -> None:
    made = await campaign(app, slots=1)
    first, one = await member(app, platform, "1")
    late, two = await member(app, platform, "2")
    await send_offer(app, made, one)
    offer = await send_offer(app, made, two)
    await first.press("Accept")
    [full] = await late.press("Accept")
    assert full.text == "Sorry, the campaign is full: Acme: Winter boots has no slots left."
    assert (await offer_now(app, offer.id)).status == "offered"


async def test_paused_closed_and_stale_presses_get_a_clear_answer(
    app: App, platform: FakePlatform
) -> None:
    anna, stored = await member(app, platform, "1")
    made = await campaign(app)
    offer = await send_offer(app, made, stored)
    async with app.store.unit_of_work() as uow:
        await uow.campaigns.change_status(made.id, ["published"], "paused", utcnow())
    [paused] = await anna.press("Accept")
    assert paused.text == PAUSED
    assert paused.edit_message_id is None  # the card keeps its buttons for later
    async with app.store.unit_of_work() as uow:
        await uow.campaigns.change_status(made.id, ["paused"], "closed", utcnow())
    [closed] = await anna.press("Accept")
    assert closed.text == "Acme: Winter boots is closed: it no longer takes acceptances."
    [details] = await anna.press_stale(OfferDetails(offer=offer.id).pack())
    assert details.text.endswith("Acme: Winter boots is closed: it no longer takes acceptances.")
    assert details.buttons == ()

    second = await campaign(app, brand="Brandly")
    other = await send_offer(app, second, stored)
    async with app.store.unit_of_work() as uow:
        assert await uow.offers.withdraw_open(second.id, utcnow()) == [other.id]
    [withdrawn] = await anna.press("Decline")
    assert withdrawn.text == "Brandly: Winter boots is closed: it no longer takes acceptances."


async def test_someone_suspended_since_the_card_came_cannot_accept(
    app: App, platform: FakePlatform
) -> None:
    anna, stored = await member(app, platform, "1")
    offer = await send_offer(app, await campaign(app), stored)
    async with app.store.unit_of_work() as uow:
        await uow.people.change_status(stored.id, "approved", "suspended", "spam", "cli")
    [refused] = await anna.press("Accept")
    assert refused.text == NOT_FOR_YOU
    assert (await offer_now(app, offer.id)).status == "offered"


async def test_decline_asks_an_optional_reason(app: App, platform: FakePlatform) -> None:
    anna, stored = await member(app, platform, "1")
    made = await campaign(app)
    offer = await send_offer(app, made, stored)
    [asked] = await anna.press("Decline")
    assert asked.text.startswith("Why are you declining Acme: Winter boots?")
    assert anna.labels(asked) == [
        "No time right now",
        "The brand is not for me",
        "The commission is too low",
        "Not right for my audience",
        "The deadline is too short",
        "Skip",
    ]
    [done] = await anna.press("The commission is too low")
    assert done.text == "Declined: Acme: Winter boots. Thank you for telling us why."
    saved = await offer_now(app, offer.id)
    assert (saved.status, saved.decline_reason) == ("declined", "commission")

    second = await send_offer(app, await campaign(app, brand="Brandly"), stored)
    await anna.press("Decline")
    [skipped] = await anna.press("Skip")
    assert skipped.text == "Declined: Brandly: Winter boots."
    assert (await offer_now(app, second.id)).decline_reason == "none"
    # Accepting a declined offer from the old card changes nothing.
    [stale] = await anna.press_stale(AcceptOffer(offer=second.id).pack())
    assert stale.text == "You declined this offer."


async def test_details_show_the_terms_and_keep_the_buttons(
    app: App, platform: FakePlatform
) -> None:
    anna, stored = await member(app, platform, "1")
    offer = await send_offer(app, await campaign(app), stored)
    [details] = await anna.press("Details")
    assert "Product page: https://acme.example/boots?utm_source=kolbot&lang=de#buy" in (
        details.text
    )
    assert "For creators in: Germany, Poland" in details.text
    assert "Topics: Fashion" in details.text
    assert "Followers needed: at least 1,000" in details.text
    assert "Your post must carry #ad" in details.text
    assert [b.data for b in anna.buttons(details)] == [
        AcceptOffer(offer=offer.id).pack(),
        DeclineOffer(offer=offer.id).pack(),
        OfferDetails(offer=offer.id).pack(),
    ]


async def test_a_forged_press_on_another_persons_offer_is_refused_and_audited(
    app: App, platform: FakePlatform
) -> None:
    anna, anna_stored = await member(app, platform, "1")
    eve, eve_stored = await member(app, platform, "2", name="Eve")
    made = await campaign(app)
    annas = await send_offer(app, made, anna_stored)
    for data in (
        AcceptOffer(offer=annas.id).pack(),
        DeclineOffer(offer=annas.id).pack(),
        DeclineFor(offer=annas.id, reason="time").pack(),
        "ofa:not-a-number",
    ):
        [refused] = await eve.press_forged(data)
        assert refused.text == NOT_ALLOWED
    guest = Person(platform, user_id="3")
    [refused] = await guest.press_forged(AcceptOffer(offer=annas.id).pack())
    assert refused.text == NOT_ALLOWED
    # Details of Anna's offer: not hers, so Eve gets where she stands with the campaign (a
    # card of her own, since she matches it), and a guest an invitation to sign up.
    [own] = await eve.press_forged(OfferDetails(offer=annas.id).pack())
    async with app.store.reading() as uow:
        eves = await uow.offers.of_campaign_person(made.id, eve_stored.id)
    assert eves is not None
    assert own.text.startswith("Acme: Winter boots")
    assert eve.buttons(own)[0].data == AcceptOffer(offer=eves.id).pack()
    [invited] = await guest.press_forged(OfferDetails(offer=annas.id).pack())
    assert invited.text == SIGN_UP_FIRST
    assert (await offer_now(app, annas.id)).status == "offered"
    async with app.store.reading() as uow:
        left = await uow.campaigns.get(made.id)
        rows = await uow.audit.tail(100)
    assert left is not None
    assert left.slots_left == 3
    audited = [(r.actor, r.action, r.target) for r in rows if r.outcome == "refused"]
    assert audited == [
        ("fake:2", "offer.accept", f"offer:{annas.id}"),
        ("fake:2", "offer.decline", f"offer:{annas.id}"),
        ("fake:2", "offer.decline", f"offer:{annas.id}"),
        ("fake:2", "offer.accept", ""),
        ("fake:3", "offer.accept", f"offer:{annas.id}"),
        ("fake:2", "offer.details", f"offer:{annas.id}"),
        ("fake:3", "offer.details", f"offer:{annas.id}"),
    ]
    await drained(app)
    assert anna.last.buttons  # Anna's card is untouched


async def test_a_card_sent_while_its_campaign_is_still_publishing_can_be_accepted(
    app: App, platform: FakePlatform
) -> None:
    """Publishing to a million takes a while, and the first cards go out meanwhile: a quick
    press on one takes a slot, it is not told the campaign is closed."""
    made = await campaign(app, status="publishing")
    anna, stored = await member(app, platform, "1")
    await send_offer(app, made, stored)
    [accepted] = await anna.press("Accept")
    assert accepted.text.startswith("You are in: Acme: Winter boots")
