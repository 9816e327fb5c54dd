"""Publishing on Discord, end to end: /linkgroup in a server channel (Discord says who may
manage it), offers in DMs, and the channel post whose button answers the presser alone."""

from __future__ import annotations

from datetime import timedelta

from bot.adapters.discord.render import escape
from bot.i18n import translator
from bot.services.agencies import create_agency
from bot.services.campaigns import create
from bot.services.publishing import publish_pending
from bot.services.review import approve
from bot.settings import Settings
from handlers.access import ADMINS_ONLY
from handlers.groups import NOT_CHAT_ADMIN, WRONG_CHAT
from handlers.offer_links import SIGN_UP_FIRST
from storage.clock import utcnow
from storage.models import AuditEntry, Commission, NewCampaign
from tests.e2e.discord_harness import RunningBot, member, running_bot
from tests.fakes.discord_server import (
    ADMIN_ROLE,
    MANAGER_ROLE,
    FakeDiscord,
    FakeUser,
    _components,
    labels,
)

pytest_plugins = ["tests.e2e.discord_fixtures"]

EN = translator("en")


async def audit(bot: RunningBot, action: str) -> list[AuditEntry]:
    async with bot.app.store.reading() as uow:
        return [entry for entry in await uow.audit.tail(1000) if entry.action == action]


async def linked(bot: RunningBot, agency_id: int) -> list[str]:
    async with bot.app.store.reading() as uow:
        return [chat.chat for chat in await uow.agency_chats.of_agency(agency_id)]


async def join(bot: RunningBot, server: FakeDiscord, user: FakeUser, name: str) -> int:
    async with bot.app.store.unit_of_work() as uow:
        agency, invite = await create_agency(uow, name, "cli")
    await server.reply_to(user, server.slash(user, "help"))
    await server.reply_to(
        user, server.write(user, f"/agency {invite.code}"), containing=escape(name)
    )
    return agency.id


async def answered_in(server: FakeDiscord, channel: int, user: FakeUser, count: int) -> str:
    await server.until(lambda: len(server.texts(channel, user)) >= count, what="an answer")
    return server.texts(channel, user)[count - 1]


async def test_linkgroup_in_a_server_channel_needs_a_channel_manager(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    channel = server.guild_channel_id
    lea, bob, max_ = (server.add_user(name) for name in ("lea", "bob", "max"))
    async with running_bot(dc_settings, server) as bot:
        acme = await join(bot, server, lea, "Acme Media")
        other = await join(bot, server, max_, "Other Media")

        await server.slash(lea, "linkgroup", channel_id=channel)
        assert await answered_in(server, channel, lea, 1) == escape(EN._(NOT_CHAT_ADMIN))
        await server.slash(bob, "linkgroup", channel_id=channel)
        assert await answered_in(server, channel, bob, 1) == escape(EN._(ADMINS_ONLY))
        await server.reply_to(
            lea, server.slash(lea, "linkgroup"), containing=escape(EN._(WRONG_CHAT))[:30]
        )
        assert await linked(bot, acme) == []

        server.grant(lea, MANAGER_ROLE)
        await server.slash(lea, "linkgroup", channel_id=channel)
        done = await answered_in(server, channel, lea, 2)
        assert done.startswith("Linked: Acme Media's campaigns will be posted")
        assert await linked(bot, acme) == [f"discord:channel:{channel}"]
        # An administrator of another agency cannot take it over.
        server.grant(max_, ADMIN_ROLE)
        await server.slash(max_, "linkgroup", channel_id=channel)
        taken = await answered_in(server, channel, max_, 1)
        assert "another agency has linked this chat" in taken
        assert await linked(bot, other) == []

        rows = [(e.actor, e.outcome) for e in await audit(bot, "agency.link_chat")]
        assert rows == [
            (f"discord:{lea.id}", "refused"),
            (f"discord:{bob.id}", "refused"),
            (f"discord:{lea.id}", "refused"),
            (f"discord:{lea.id}", "allowed"),
            (f"discord:{max_.id}", "refused"),
        ]
        # Nothing of this was posted for everyone in the channel.
        assert server.visible(channel) == []


async def test_a_published_campaign_reaches_dms_and_the_linked_channel(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    channel = server.guild_channel_id
    lea, ana, guest = (server.add_user(name) for name in ("lea", "ana", "guest"))
    server.grant(lea, ADMIN_ROLE)
    async with running_bot(dc_settings, server) as bot:
        acme = await join(bot, server, lea, "Acme Media")
        await server.slash(lea, "linkgroup", channel_id=channel)
        await answered_in(server, channel, lea, 1)
        person = await member(bot.app, ana, name="Ana")
        async with bot.app.store.unit_of_work() as uow:
            await approve(uow, person.id, "cli")
            campaign = await create(
                uow,
                NewCampaign(
                    agency_id=acme,
                    brand="Acme",
                    title="Winter boots",
                    brief="Show the boots in snow.",
                    commission=Commission.fixed(5000, "PLN"),
                    countries=("PL",),
                    niches=("tech",),
                    min_followers=1000,
                    slots=5,
                    deadline=utcnow() + timedelta(days=9),
                    landing_url="https://acme.example/boots",
                    created_by=f"discord:{lea.id}",
                ),
                f"discord:{lea.id}",
                publish=True,
            )

        card = await server.reply_to(
            ana, publish_pending(bot.app.store), containing="Winter boots", seconds=10
        )
        bot.app.outbox.wake()
        assert labels(card) == ["Accept", "Decline", "Details"]
        assert "50,00" in card["content"] or "50.00" in card["content"]
        await server.until(lambda: server.visible(channel), what="the channel post")
        [post] = server.visible(channel)
        assert "Winter boots" in post["content"]
        assert labels(post) == ["Open the offer"]
        [button] = [c for c in _components(post) if c["type"] == 2]
        assert "custom_id" in button  # a button answered privately, not a link

        # Pressed in the channel: the offer, to the presser alone.
        await server.press(ana, "Open the offer", channel_id=channel)
        await server.until(lambda: len(server.texts(channel, ana)) == 2, what="the offer")
        shown = server.texts(channel, ana)[1]
        assert shown.startswith("Acme: Winter boots")
        # Someone not signed up is invited to sign up, and nobody else sees either answer.
        await server.press(guest, "Open the offer", channel_id=channel)
        assert await answered_in(server, channel, guest, 2) == escape(EN._(SIGN_UP_FIRST))
        assert [m["content"] for m in server.visible(channel)] == [post["content"]]
        assert campaign.id == 1
