"""Influencers and their offers on Telegram, end to end: the card arrives, Accept gives the
link, code and disclosure, Decline takes a reason, /submit records the post; a forged
callback_data naming another person's offer is refused and audited."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import translator
from bot.services.agencies import create_agency
from bot.services.campaigns import create
from bot.services.offer_cards import AcceptOffer, DeclineOffer, start_payload
from bot.services.publishing import close_ended, publish_pending
from bot.services.review import approve
from bot.settings import Settings
from handlers.access import NOT_ALLOWED
from handlers.commands import OFFER_FOR_MEMBERS, OFFER_SIGNUP_FIRST
from jobs.offer_alerts import send_digests, send_reminders
from storage import clock
from storage.clock import utcnow
from storage.models import Commission, NewCampaign
from tests.e2e.telegram_harness import RunningBot, TgUser, eventually, running_bot, sign_up
from tests.fakes.telegram_server import FakeTelegram, SentMessage

pytest_plugins = ["tests.e2e.telegram_fixtures"]

CODE = re.compile(r"\b[A-Z]{2,3}-[A-HJ-NP-Z2-9]{4}\b")
LINK = re.compile(r"https://acme\.example/boots\?\S+")


async def published(bot: RunningBot, *users: TgUser, slots: int = 5) -> int:
    """Approve ``users``, publish a campaign they match, and wait for their cards."""
    async with bot.app.store.unit_of_work() as uow:
        agency, _ = await create_agency(uow, "Acme Media", "cli")
        for user in users:
            person = await uow.people.by_account("telegram", str(user.user_id))
            assert person is not None
            await approve(uow, person.id, "cli")
        campaign = await create(
            uow,
            NewCampaign(
                agency_id=agency.id,
                brand="Acme",
                title="Winter boots",
                brief="Show the boots in snow.",
                commission=Commission.fixed(2500, "EUR"),
                countries=("PL",),
                niches=("fashion",),
                min_followers=5000,
                slots=slots,
                deadline=utcnow() + timedelta(days=9),
                landing_url="https://acme.example/boots?utm_source=kolbot",
                created_by="cli",
            ),
            "cli",
            publish=True,
        )
    await bot.settled()
    assert await publish_pending(bot.app.store) == 1
    bot.app.outbox.wake()

    def carded(user: TgUser) -> bool:
        return (
            bool(user.messages) and "Winter boots" in user.last.text and bool(user.last.labels())
        )

    for user in users:
        await eventually(partial(carded, user), what=f"the card for {user.user_id}")
    await bot.settled()
    return campaign.id


async def test_receive_accept_decline_and_submit(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        zoe = TgUser(bot, 801, "Zoé", language_code="fr")
        await sign_up(zoe, language="fr", name="Zoé")
        ben = TgUser(bot, 802, "Ben")
        await sign_up(ben, name="Ben")
        await published(bot, zoe, ben)

        card = zoe.last
        assert "25,00\xa0€" in card.text
        assert card.labels() == ["Accepter", "Refuser", "Détails"]
        [accepted] = await zoe.press("Accepter")
        assert accepted.message_id == card.message_id  # the card became the acceptance
        assert accepted.text.startswith("C'est parti : Acme : Winter boots")
        [link] = LINK.findall(accepted.text)
        assert link.startswith("https://acme.example/boots?utm_source=kolbot&ref=")
        [code] = CODE.findall(accepted.text)
        assert code.startswith("ZOE-")
        assert "#publicité" in accepted.text
        assert accepted.labels() == []

        [asked] = await ben.press("Decline")
        assert asked.text.startswith("Why are you declining Acme: Winter boots?")
        [declined] = await ben.press("The commission is too low")
        assert declined.text == "Declined: Acme: Winter boots. Thank you for telling us why."

        [question] = await zoe.say("/submit")
        assert question.text == translator("fr")._(
            "Send me the link to your published post for {brand}: {title}.",
            brand="Acme",
            title="Winter boots",
        )
        [thanks] = await zoe.say("https://www.instagram.com/p/Cboots/")
        assert thanks.text.startswith("Merci ! Votre publication pour Acme : Winter boots")
        async with bot.app.store.reading() as uow:
            figures = await uow.campaigns.figures(1)
        assert (figures.accepted, figures.declined, figures.submitted) == (1, 1, 1)
        assert telegram.errors == []


async def test_the_last_slot_leaves_the_link_and_code_on_earlier_acceptors_cards(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    """The closing job closes the campaign whose last slot went: the cards of those in it,
    in English and Polish, keep the link, code, disclosure and post-by date they showed;
    a late Accept is told the campaign is full, as its own card now says."""
    async with running_bot(tg_settings, telegram) as bot:
        zoe = TgUser(bot, 841, "Zoe")
        await sign_up(zoe, name="Zoe")
        ola = TgUser(bot, 842, "Ola", language_code="pl")
        await sign_up(ola, language="pl", name="Ola")
        ben = TgUser(bot, 843, "Ben")
        await sign_up(ben, name="Ben")
        await published(bot, zoe, ola, ben, slots=2)
        async with bot.app.store.reading() as uow:
            campaign = await uow.campaigns.get(1)
        assert campaign is not None
        cards = {user.user_id: user.last.message_id for user in (zoe, ola, ben)}
        await ben.press("Details")  # a message of its own, with the card's buttons

        [zoe_accepted] = await zoe.press("Accept")
        [zoe_link] = LINK.findall(zoe_accepted.text)
        [zoe_code] = CODE.findall(zoe_accepted.text)
        await zoe.say("/submit")
        await zoe.say("https://www.instagram.com/p/Cboots/")
        [ola_accepted] = await ola.press("Akceptuję")  # the last slot
        [ola_link] = LINK.findall(ola_accepted.text)
        [ola_code] = CODE.findall(ola_accepted.text)

        assert await close_ended(bot.app.store) == 1
        bot.app.outbox.wake()

        def card(user: TgUser) -> SentMessage:
            return next(m for m in user.messages if m.message_id == cards[user.user_id])

        def ended(user: TgUser) -> bool:
            return card(user).edits == (1 if user is ben else 2)

        for user in (zoe, ola, ben):
            await eventually(partial(ended, user), what=f"the end on {user.user_id}'s card")
        await bot.settled()

        en, pl = translator("en"), translator("pl")
        zoes = card(zoe).text
        assert zoes.startswith("You are in: Acme: Winter boots")
        assert f"Your personal link: {zoe_link}" in zoes
        assert f"Your promo code: {zoe_code}" in zoes
        assert "Put #ad on your post" in zoes
        deadline = en.datetime(campaign.deadline, "Europe/Warsaw")
        assert f"Your post, due by {deadline}, is recorded: " in zoes
        assert zoes.endswith("Your place in it stands: your link and promo code still work.")
        olas = card(ola).text
        assert olas.startswith("Bierzesz udział: Acme: Winter boots")
        assert f"Twój osobisty link: {ola_link}" in olas
        assert f"Twój kod rabatowy: {ola_code}" in olas
        assert "Dodaj do posta #reklama" in olas
        assert f"Opublikuj do {pl.datetime(campaign.deadline, 'Europe/Warsaw')}," in olas
        assert olas.endswith("Twój link i kod rabatowy nadal działają.")
        for text in (zoes, olas):
            assert re.search(r"\d:\d\d:\d\d", text) is None  # to the minute
        assert card(zoe).labels() == card(ola).labels() == []
        assert card(ben).text.endswith(
            "Every place in this campaign is taken, so this offer is no longer open."
        )

        [late] = await ben.press("Accept")  # on the Details message
        assert late.text == "Sorry, the campaign is full: Acme: Winter boots has no slots left."
        [listed] = await zoe.say("/offers")
        assert zoe_link in listed.text
        assert zoe_code in listed.text
        assert telegram.errors == []


async def test_a_forged_callback_data_for_another_persons_offer_is_refused(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        zoe = TgUser(bot, 811, "Zoe")
        await sign_up(zoe, name="Zoe")
        eve = TgUser(bot, 812, "Eve")
        await sign_up(eve, name="Eve")
        await published(bot, zoe, eve)
        async with bot.app.store.reading() as uow:
            zoes = await uow.people.by_account("telegram", "811")
            assert zoes is not None
            [target] = await uow.offers.of_person(zoes.id, ["offered"])
            eves = await uow.people.by_account("telegram", "812")
            assert eves is not None
            [own] = await uow.offers.of_person(eves.id, ["offered"])

        for forged in (AcceptOffer(offer=target.id), DeclineOffer(offer=target.id)):
            update = telegram.press_update(
                eve.chat_id, eve.user_id, data=AcceptOffer(offer=own.id).pack()
            )
            update["callback_query"]["data"] = forged.pack()
            before = len(eve.messages)
            await bot.settled(telegram.push(update))
            assert eve.messages[before:][-1].text == NOT_ALLOWED

        async with bot.app.store.reading() as uow:
            still = await uow.offers.get(target.id)
            audit = await uow.audit.tail(100)
        assert still is not None
        assert still.status == "offered"
        refused = [(e.actor, e.action, e.target) for e in audit if e.outcome == "refused"]
        assert refused == [
            ("telegram:812", "offer.accept", f"offer:{target.id}"),
            ("telegram:812", "offer.decline", f"offer:{target.id}"),
        ]
        assert zoe.last.labels() == ["Accept", "Decline", "Details"]  # Zoe's card untouched
        assert telegram.errors == []


async def test_the_deep_link_invites_guests_and_keeps_a_signup_where_it_was(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        zoe = TgUser(bot, 821, "Zoe")
        await sign_up(zoe, name="Zoe")
        campaign_id = await published(bot, zoe)
        link = f"/start {start_payload(campaign_id)}"

        guest = TgUser(bot, 822, "Gus")
        invited = await guest.say(link)
        assert invited[0].text == OFFER_FOR_MEMBERS
        assert invited[-1].text == "Choose your language:"

        halfway = TgUser(bot, 823, "Hal")
        await halfway.say("/start")
        await halfway.press(data="lang:en")
        await halfway.press(data="name:platform")
        asked = halfway.last.text
        told = await halfway.say(link)
        assert [m.text for m in told] == [
            OFFER_SIGNUP_FIRST,
            "Welcome back! Let's continue where you left off.",
            asked,
        ]
        await halfway.say("PL")  # the signup goes on from its country question
        assert halfway.last.text != asked
        assert telegram.errors == []


async def test_reminder_and_digest_arrive_with_a_frozen_clock(
    tg_settings: Settings, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        zoe = TgUser(bot, 831, "Zoe")
        await sign_up(zoe, name="Zoe")
        dan = TgUser(bot, 832, "Dan")
        await sign_up(dan, name="Dan")
        await published(bot, zoe, dan)
        await zoe.press("Accept")
        async with bot.app.store.reading() as uow:
            campaign = await uow.campaigns.get(1)
        assert campaign is not None

        # Dan takes his offers in a daily digest at 18:00 (Warsaw).
        await dan.say("/settings")
        await dan.press("Daily digest")
        await dan.press("18:00")
        second = await published_again(bot, dan)

        # Less than two hours before the deadline: the last call, never held.
        last_call = campaign.deadline - timedelta(hours=1, minutes=50)
        monkeypatch.setattr(clock, "utcnow", lambda: last_call)
        assert await send_reminders(bot.app.services) == 1
        bot.app.outbox.wake()
        await eventually(lambda: zoe.last.text.startswith("Last call"), what="the reminder")

        evening = datetime.combine(
            utcnow().date() + timedelta(days=1), time(18, 5), tzinfo=ZoneInfo("Europe/Warsaw")
        )
        monkeypatch.setattr(clock, "utcnow", lambda: evening.astimezone(UTC))
        assert await send_digests(bot.app.services) == 1
        bot.app.outbox.wake()
        await eventually(lambda: "new offer" in dan.last.text, what="the digest")
        assert "Brandly: Summer hats" in dan.last.text
        assert dan.last.text.endswith("Send /offers to accept or decline them.")
        assert second > 0
        await bot.settled()
        assert telegram.errors == []


async def published_again(bot: RunningBot, *users: TgUser) -> int:
    """A second campaign for ``users``, who take offers in a digest: no card comes."""
    async with bot.app.store.unit_of_work() as uow:
        agency, _ = await create_agency(uow, "Brandly Media", "cli")
        made = await create(
            uow,
            NewCampaign(
                agency_id=agency.id,
                brand="Brandly",
                title="Summer hats",
                brief="Wear the hat.",
                commission=Commission.percent(1000),
                slots=5,
                deadline=utcnow() + timedelta(days=20),
                landing_url="https://brandly.example/hats",
                created_by="cli",
            ),
            "cli",
            publish=True,
        )
    before = {user.user_id: len(user.messages) for user in users}
    assert await publish_pending(bot.app.store) == 1
    await bot.settled()
    assert all(len(user.messages) == before[user.user_id] for user in users)
    return made.id
