"""Agency campaigns on Discord, end to end: /newcampaign to publishing with the select menu,
/campaigns buttons, and refusals (a forged custom_id and a server channel included)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.adapters.discord.client import BUTTON_ID
from bot.adapters.discord.render import escape
from bot.i18n import translator
from bot.services.agencies import create_agency
from bot.settings import Settings
from handlers.access import OTHER_AGENCY, PRIVATE_ONLY
from handlers.campaigns import CampaignButton
from storage.clock import utcnow
from storage.models import AuditEntry, Campaign, Commission
from tests.e2e.discord_harness import RunningBot, running_bot
from tests.fakes.discord_server import FakeDiscord, FakeUser, labels

pytest_plugins = ["tests.e2e.discord_fixtures"]


async def audit(bot: RunningBot) -> list[AuditEntry]:
    async with bot.app.store.reading() as uow:
        return await uow.audit.tail(1000)


async def campaigns(bot: RunningBot, agency_id: int) -> list[Campaign]:
    async with bot.app.store.reading() as uow:
        return await uow.campaigns.of_agency(agency_id)


async def join(bot: RunningBot, server: FakeDiscord, user: FakeUser, name: str) -> int:
    async with bot.app.store.unit_of_work() as uow:
        agency, invite = await create_agency(uow, name, "cli")
    # A typed DM carries no language: the client's is known from an earlier interaction.
    await server.reply_to(user, server.slash(user, "help"))
    await server.reply_to(
        user, server.write(user, f"/agency {invite.code}"), containing=escape(name)
    )
    return agency.id


def deadline() -> str:
    day = (utcnow() + timedelta(days=12)).astimezone(ZoneInfo("Europe/Paris")).date()
    return f"{day:%Y-%m-%d} 09:30"


async def test_an_admin_publishes_a_campaign_and_pauses_it(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    lea = server.add_user("lea", locale="fr")
    fr = translator("fr")
    async with running_bot(dc_settings, server) as bot:
        agency_id = await join(bot, server, lea, "Maison *Lumière*")
        asked = fr._("Which brand is the campaign for?")
        await server.reply_to(lea, server.slash(lea, "newcampaign"), containing=escape(asked))
        for answer, next_question in [
            ("Lumière", "titre"),
            ("Bougies d'hiver", "brief"),
            ("Montrez la bougie **allumée**.", "commission"),
            ("30 PLN", "pays"),
            ("France, Belgique", "thèmes"),
        ]:
            await server.reply_to(lea, server.write(lea, answer), containing=next_question)
        picker = await server.reply_to(
            lea, server.choose(lea, [fr._("Home"), fr._("Beauty")]), containing="thèmes"
        )
        [select] = [c for row in picker["components"] for c in row["components"] if c["type"] == 3]
        assert {o["value"] for o in select["options"] if o.get("default")} == {"home", "beauty"}
        await server.reply_to(lea, server.press(lea, fr._("Done")), containing="abonnés")
        await server.reply_to(lea, server.press(lea, fr._("No minimum")), containing="places")
        await server.reply_to(lea, server.write(lea, "10"), containing="fuseau")
        await server.reply_to(lea, server.write(lea, "Europe/Paris"), containing="Europe/Paris")
        await server.reply_to(lea, server.write(lea, deadline()), containing="https")
        review = await server.reply_to(
            lea, server.write(lea, "https://lumiere.example/hiver"), label=fr._("Publish")
        )
        # Markdown typed by the admin is shown as typed, not rendered.
        assert escape("Montrez la bougie **allumée**.") in review["content"]
        saved = fr._(
            "Campaign #{id} is saved and publishing: matching influencers now. Send /campaigns "
            "to follow its figures.",
            id=1,
        )
        await server.reply_to(lea, server.press(lea, fr._("Publish")), containing=escape(saved))

        [campaign] = await campaigns(bot, agency_id)
        assert campaign.status == "publishing"
        assert campaign.commission == Commission.fixed(3000, "PLN")
        assert (campaign.countries, campaign.niches) == (("BE", "FR"), ("beauty", "home"))
        assert (campaign.min_followers, campaign.slots) == (0, 10)

        card = await server.reply_to(lea, server.slash(lea, "campaigns"), label=fr._("Pause"))
        assert labels(card) == [fr._("Pause"), fr._("Close"), fr._("Refresh")]
        paused = await server.reply_to(
            lea, server.press(lea, fr._("Pause")), containing=fr._("Paused")
        )
        assert paused["id"] == card["id"]
        [now] = await campaigns(bot, agency_id)
        assert now.status == "paused"
        actions = [(e.action, e.outcome) for e in await audit(bot) if e.action.startswith("camp")]
        assert actions == [
            ("campaign.create", "allowed"),
            ("campaign.publish", "allowed"),
            ("campaign.list", "allowed"),
            ("campaign.pause", "allowed"),
        ]
    assert all(i.responses for i in server.interactions.values())


async def test_another_agency_and_a_server_channel_are_refused(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    owner = server.add_user("owner", locale="en-US")
    rival = server.add_user("rival", locale="es-ES")
    es = translator("es")
    async with running_bot(dc_settings, server) as bot:
        acme = await join(bot, server, owner, "Acme")
        await join(bot, server, rival, "Rival")
        await server.reply_to(owner, server.slash(owner, "newcampaign"), containing="brand")
        for answer in ["Acme", "Boots", "Snow.", "10%", "all"]:
            await server.reply_to(owner, server.write(owner, answer))
        await server.reply_to(owner, server.press(owner, "All topics"), containing="followers")
        for answer in ["1k", "5", "UTC", deadline()]:
            await server.reply_to(owner, server.write(owner, answer))
        await server.reply_to(
            owner, server.write(owner, "https://acme.example"), label="Save as draft"
        )
        await server.reply_to(owner, server.press(owner, "Save as draft"), containing="draft")
        [campaign] = await campaigns(bot, acme)
        audited = len(await audit(bot))

        # Rival's admin presses a card of their own, the custom_id edited to name Acme's.
        own = await server.reply_to(rival, server.slash(rival, "campaigns"))
        assert own["content"] == escape(
            es._("Your agency has no campaigns yet. Send /newcampaign to create one.")
        )
        await server.reply_to(rival, server.slash(rival, "language"))
        menu = next(m for m in reversed(server.inbox(rival)) if m.get("components"))
        for action in ("publish", "close"):
            data = CampaignButton(action=action, campaign=campaign.id).pack()
            await server.reply_to(
                rival,
                server.press_forged(rival, BUTTON_ID.format(data=data), menu),
                containing=escape(es._(OTHER_AGENCY))[:20],
            )
        # The owner, in a server channel: refused there, seen by the owner alone.
        channel = server.guild_channel_id
        asked = await server.slash(owner, "campaigns", channel_id=channel)
        await server.until(lambda: asked.followups or server.texts(channel, owner))
        assert server.texts(channel, owner) == [escape(translator("en")._(PRIVATE_ONLY))]
        assert server.visible(channel) == []

        [unchanged] = await campaigns(bot, acme)
        assert unchanged.status == "draft"
        rows = [
            (e.actor, e.action, e.outcome)
            for e in (await audit(bot))[audited:]
            if e.action.startswith("campaign")
        ]
        assert rows == [
            (f"discord:{rival.id}", "campaign.list", "allowed"),
            (f"discord:{rival.id}", "campaign.publish", "refused"),
            (f"discord:{rival.id}", "campaign.close", "refused"),
            (f"discord:{owner.id}", "campaign.list", "refused"),
        ]
