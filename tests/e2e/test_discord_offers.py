"""Influencers and their offers on Discord, end to end: the card in the DM, Accept with the
link, code and disclosure, Decline with a reason, /submit; a forged custom_id naming another
person's offer is refused and audited."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.adapters.discord.client import BUTTON_ID
from bot.adapters.discord.render import escape
from bot.i18n import translator
from bot.services.agencies import create_agency
from bot.services.campaigns import create
from bot.services.offer_cards import AcceptOffer
from bot.services.publishing import close_ended, publish_pending
from bot.services.review import approve
from bot.settings import Settings
from handlers.access import NOT_ALLOWED
from storage.clock import utcnow
from storage.models import Commission, NewCampaign
from tests.e2e.discord_harness import member, running_bot
from tests.fakes.discord_server import ADMIN_ROLE, FakeDiscord, FakeUser, labels

pytest_plugins = ["tests.e2e.discord_fixtures"]

CODE = re.compile(r"\b[A-Z]{2,3}-[A-HJ-NP-Z2-9]{4}\b")
LINK = re.compile(r"https://acme\.example/boots\?src=kolbot&ref=[0-9a-z-]+")


async def test_receive_accept_decline_submit_and_a_forged_press(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    ana, ben = server.add_user("ana"), server.add_user("ben")
    async with running_bot(dc_settings, server) as bot:
        people = [await member(bot.app, ana, name="Ana"), await member(bot.app, ben, name="Ben")]
        async with bot.app.store.unit_of_work() as uow:
            agency, _ = await create_agency(uow, "Acme Media", "cli")
            for person in people:
                await approve(uow, person.id, "cli")
            await create(
                uow,
                NewCampaign(
                    agency_id=agency.id,
                    brand="Acme",
                    title="Winter boots",
                    brief="Show the boots in snow.",
                    commission=Commission.percent(1500),
                    countries=("PL",),
                    niches=("tech",),
                    min_followers=1000,
                    slots=5,
                    deadline=utcnow() + timedelta(days=9),
                    landing_url="https://acme.example/boots?src=kolbot",
                    created_by="cli",
                ),
                "cli",
                publish=True,
            )
        card = await server.reply_to(
            ana, publish_pending(bot.app.store), containing="Winter boots", seconds=10
        )
        bot.app.outbox.wake()
        assert labels(card) == ["Accept", "Decline", "Details"]
        assert "15% of each sale" in card["content"]
        await server.until(lambda: any(labels(m) for m in server.inbox(ben)), what="Ben's card")
        async with bot.app.store.reading() as uow:
            [anas] = await uow.offers.of_person(people[0].id, ["offered"])

        # Ben's client sends a press naming Ana's offer: refused, nothing taken.
        bens_card = next(m for m in reversed(server.inbox(ben)) if labels(m))
        forged = BUTTON_ID.format(data=AcceptOffer(offer=anas.id).pack())
        refused = await server.reply_to(
            ben, server.press_forged(ben, forged, bens_card), containing=escape(NOT_ALLOWED)
        )
        assert refused["content"] == escape(NOT_ALLOWED)

        accepted = await server.reply_to(ana, server.press(ana, "Accept"), containing="You are in")
        [link] = LINK.findall(accepted["content"].replace("\\", ""))
        assert CODE.search(accepted["content"].replace("\\", "")) is not None
        assert "ANA-" in accepted["content"].replace("\\", "")
        assert "#ad" in accepted["content"]
        assert link.startswith("https://acme.example/boots?src=kolbot&ref=")

        asked = await server.reply_to(
            ben, server.press(ben, "Decline"), containing="Why are you declining"
        )
        assert "Skip" in labels(asked)
        declined = await server.reply_to(
            ben, server.press(ben, "No time right now"), containing="Declined"
        )
        assert declined["content"] == escape(
            "Declined: Acme: Winter boots. Thank you for telling us why."
        )

        await server.reply_to(
            ana, server.write(ana, "/submit"), containing="Send me the link to your published"
        )
        await server.reply_to(
            ana,
            server.write(ana, "https://www.instagram.com/p/Cana/"),
            containing="is recorded",
        )
        async with bot.app.store.reading() as uow:
            figures = await uow.campaigns.figures(anas.campaign_id)
            audit = await uow.audit.tail(100)
        assert (figures.accepted, figures.declined, figures.submitted) == (1, 1, 1)
        assert [(e.actor, e.action, e.target) for e in audit if e.outcome == "refused"] == [
            (f"discord:{ben.id}", "offer.accept", f"offer:{anas.id}")
        ]
        assert server.errors == []


async def test_the_last_slot_leaves_the_link_and_code_on_earlier_acceptors_cards(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    """The closing job closes the full campaign: each acceptor's card, in English and
    Polish, is edited to say their place stands, and still shows their link, promo code,
    disclosure and post-by date (to the minute)."""
    server = discord_server
    ana, ola = server.add_user("ana"), server.add_user("ola")
    async with running_bot(dc_settings, server) as bot:
        people = [
            await member(bot.app, ana, name="Ana"),
            await member(bot.app, ola, name="Ola", language="pl"),
        ]
        async with bot.app.store.unit_of_work() as uow:
            agency, _ = await create_agency(uow, "Acme Media", "cli")
            for person in people:
                await approve(uow, person.id, "cli")
            made = await create(
                uow,
                NewCampaign(
                    agency_id=agency.id,
                    brand="Acme",
                    title="Winter boots",
                    brief="Show the boots in snow.",
                    commission=Commission.percent(1500),
                    countries=("PL",),
                    niches=("tech",),
                    min_followers=1000,
                    slots=2,
                    deadline=utcnow() + timedelta(days=9),
                    landing_url="https://acme.example/boots?src=kolbot",
                    created_by="cli",
                ),
                "cli",
                publish=True,
            )
        await server.reply_to(ana, publish_pending(bot.app.store), containing="Winter boots")
        bot.app.outbox.wake()
        await server.until(lambda: any(labels(m) for m in server.inbox(ola)), what="Ola's card")
        given = {}
        for user, label, says in ((ana, "Accept", "You are in"), (ola, "Akceptuję", "Bierzesz")):
            accepted = await server.reply_to(user, server.press(user, label), containing=says)
            text = accepted["content"].replace("\\", "")
            given[user.id] = (accepted["id"], LINK.findall(text)[0], CODE.findall(text)[0])

        async def close() -> None:
            assert await close_ended(bot.app.store) == 1
            bot.app.outbox.wake()

        await server.reply_to(ana, close(), containing="still work")
        await server.until(
            lambda: any("nadal" in m["content"] for m in server.inbox(ola)), what="Ola's edit"
        )

        def card(user: FakeUser) -> str:
            message_id = given[user.id][0]
            [found] = [m for m in server.inbox(user) if m["id"] == message_id]
            assert labels(found) == []
            return str(found["content"]).replace("\\", "")

        _, link, code = given[ana.id]
        anas = card(ana)
        en = translator("en")
        assert anas.startswith("You are in: Acme: Winter boots")
        assert f"Your personal link: {link}" in anas
        assert f"Your promo code: {code}" in anas
        assert "Put #ad on your post" in anas
        assert f"Publish by {en.datetime(made.deadline, 'Europe/Warsaw')}," in anas
        assert anas.endswith("Your place in it stands: your link and promo code still work.")
        _, link, code = given[ola.id]
        olas = card(ola)
        pl = translator("pl")
        assert f"Twój osobisty link: {link}" in olas
        assert f"Twój kod rabatowy: {code}" in olas
        assert "Dodaj do posta #reklama" in olas
        assert f"Opublikuj do {pl.datetime(made.deadline, 'Europe/Warsaw')}," in olas
        assert olas.endswith("Twój link i kod rabatowy nadal działają.")
        assert re.search(r"\d:\d\d:\d\d", anas + olas) is None
        assert server.errors == []


async def test_a_card_opened_from_a_channel_post_is_accepted_there_privately(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    channel = server.guild_channel_id
    lea, ana, eve = server.add_user("lea"), server.add_user("ana"), server.add_user("eve")
    server.grant(lea, ADMIN_ROLE)
    async with running_bot(dc_settings, server) as bot:
        async with bot.app.store.unit_of_work() as uow:
            agency, invite = await create_agency(uow, "Acme Media", "cli")
        await server.reply_to(lea, server.slash(lea, "help"))
        await server.reply_to(
            lea, server.write(lea, f"/agency {invite.code}"), containing="Acme Media"
        )
        await server.slash(lea, "linkgroup", channel_id=channel)
        await server.until(lambda: server.texts(channel, lea), what="the link")
        person = await member(bot.app, ana, name="Ana")
        async with bot.app.store.unit_of_work() as uow:
            await approve(uow, person.id, "cli")
            await create(
                uow,
                NewCampaign(
                    agency_id=agency.id,
                    brand="Acme",
                    title="Winter boots",
                    brief="Show the boots in snow.",
                    commission=Commission.percent(1500),
                    countries=("PL",),
                    niches=("tech",),
                    min_followers=1000,
                    slots=5,
                    deadline=utcnow() + timedelta(days=9),
                    landing_url="https://acme.example/boots?src=kolbot",
                    created_by="cli",
                ),
                "cli",
                publish=True,
            )
        assert await publish_pending(bot.app.store) == 1
        bot.app.outbox.wake()
        await server.until(lambda: server.visible(channel), what="the channel post")

        await server.press(ana, "Open the offer", channel_id=channel)
        await server.until(lambda: len(server.texts(channel, ana)) == 2, what="the offer")
        await server.press(ana, "Accept", channel_id=channel)
        await server.until(
            lambda: any("You are in" in t for t in server.texts(channel, ana)),
            what="the acceptance",
        )
        # Nobody else in the channel sees the card or the link and code.
        seen_by_eve = server.texts(channel, eve)
        assert all("You are in" not in text for text in seen_by_eve)
        assert len(seen_by_eve) == 1  # the post alone
        async with bot.app.store.reading() as uow:
            [accepted] = await uow.offers.of_person(person.id, ["accepted"])
        assert accepted.promo_code is not None
        assert server.errors == []


async def test_settings_pickers_fit_discord(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    ana = server.add_user("ana")
    async with running_bot(dc_settings, server) as bot:
        person = await member(bot.app, ana, name="Ana")
        shown = await server.reply_to(
            ana, server.slash(ana, "settings"), containing="Your settings"
        )
        assert labels(shown) == ["Instantly", "Daily digest", "Off", "Quiet hours"]
        hours = await server.reply_to(
            ana, server.press(ana, "Daily digest"), containing="daily digest come"
        )
        assert len(labels(hours)) == 24
        await server.reply_to(ana, server.press(ana, "18:00"), containing="18:00")
        start = await server.reply_to(
            ana, server.press(ana, "Quiet hours"), containing="quiet hours start"
        )
        assert len(labels(start)) == 25  # every hour, and none
        await server.reply_to(ana, server.press(ana, "23:00"), containing="When do they end")
        await server.reply_to(ana, server.press(ana, "07:00"), containing="23:00 to 07:00")
        async with bot.app.store.reading() as uow:
            settings = await uow.alerts.get(person.id)
        assert (settings.mode, settings.digest_hour) == ("digest", 18)
        assert (settings.quiet_start, settings.quiet_end) == (23 * 60, 7 * 60)
        assert server.errors == []
