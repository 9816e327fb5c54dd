"""Agency admins and operators on Discord, end to end: invites, review, refusals.

A refusal is answered in the asker's client language and audited; a forged custom_id (a
client can send any) is refused like the command it stands for.
"""

from __future__ import annotations

import re

from bot.adapters.discord.client import BUTTON_ID
from bot.adapters.discord.render import escape
from bot.i18n import translator
from bot.services import review
from bot.services.agencies import create_agency
from bot.settings import Settings
from handlers.access import OPERATORS_ONLY, OTHER_AGENCY, PRIVATE_ONLY
from handlers.agency import NewInvite
from handlers.review import Decide
from storage.models import AuditEntry
from tests.e2e.discord_harness import RunningBot, discord_settings, member, running_bot
from tests.fakes.discord_server import FakeDiscord, FakeUser, labels
from tests.fakes.store import people

pytest_plugins = ["tests.e2e.discord_fixtures"]

CODE = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


async def audit(bot: RunningBot) -> list[AuditEntry]:
    async with bot.app.store.reading() as uow:
        return await uow.audit.tail(1000)


async def forged_press(server: FakeDiscord, user: FakeUser, data: str) -> None:
    """A component interaction on the latest message with buttons in the user's DM, with a
    custom_id the bot never made."""
    message = next(m for m in reversed(server.inbox(user)) if m.get("components"))
    await server.press_forged(user, BUTTON_ID.format(data=data), message)


async def test_an_invite_code_typed_in_a_dm_and_invite_as_a_slash_command(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    ola = server.add_user("ola", locale="pl")
    ewa = server.add_user("ewa", locale="en-US")
    async with running_bot(dc_settings, server) as bot:
        async with bot.app.store.unit_of_work() as uow:
            agency, invite = await create_agency(uow, "Acme *Media*", "cli")
        # A typed DM carries no language: the client's is known from an earlier interaction.
        await server.reply_to(ola, server.slash(ola, "help"))
        joined = await server.reply_to(
            ola, server.write(ola, f"/agency {invite.code}"), containing="Acme"
        )
        pl = translator("pl")
        assert joined["content"] == escape(
            pl._(
                "You are now an admin of {agency}. Send /invite to make a code for another "
                "admin, and /help to see what you can do.",
                agency="Acme *Media*",
            )
        )
        made = await server.reply_to(ola, server.slash(ola, "invite"), label=pl._("Another code"))
        [code] = set(CODE.findall(made["content"]))
        welcome = await server.reply_to(
            ewa, server.write(ewa, f"/agency {code}"), containing="admin"
        )
        assert welcome["content"].startswith("You are now an admin of Acme")
        async with bot.app.store.reading() as uow:
            admins = await uow.agencies.admins(agency.id)
        assert [a.account for a in admins] == [f"discord:{ola.id}", f"discord:{ewa.id}"]
        assert [(e.action, e.outcome) for e in await audit(bot)][-3:] == [
            ("agency.join", "allowed"),
            ("agency.invite", "allowed"),
            ("agency.join", "allowed"),
        ]


async def test_review_approve_and_reject_with_a_reason_and_a_note(
    settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    operator = server.add_user("op", locale="en-US")
    anna_user = server.add_user("anna")
    ewa_user = server.add_user("ewa")
    configured = discord_settings(settings, server).model_copy(
        update={"operators": (f"discord:{operator.id}",)}
    )
    async with running_bot(configured, server) as bot:
        anna = await member(bot.app, anna_user, name="Anna")
        ewa = await member(bot.app, ewa_user, name="Ewa")
        await people(bot.app).update(ewa.id, "test", columns={"language": "pl"})

        await server.reply_to(
            operator, server.slash(operator, "review"), containing=f"Applicant #{ewa.id}"
        )
        cards = [m for m in server.inbox(operator) if m["content"].startswith("Applicant #")]
        assert [c["content"].splitlines()[0] for c in cards] == [
            f"Applicant #{anna.id}: Anna",
            f"Applicant #{ewa.id}: Ewa",
        ]
        assert labels(cards[0]) == ["Approve", "Reject"]

        # Approve on Anna's card: the latest "Approve" is Ewa's, so pressed by its custom_id.
        approve = Decide(decision="approve", person=anna.id).pack()
        await server.press_forged(operator, BUTTON_ID.format(data=approve), cards[0])
        await server.until(
            lambda: any(
                "Welcome to the programme" in m["content"] for m in server.inbox(anna_user)
            ),
            what="Anna's welcome",
        )

        await server.reply_to(operator, server.press(operator, "Reject"), label="Fake followers")
        await server.reply_to(
            operator, server.press(operator, "Fake followers"), containing="Rejecting"
        )
        note = "**Great** posts, but <@everyone> _likes_ jumped 10x in May"
        await server.reply_to(operator, server.write(operator, note), containing="Rejected")
        pl = translator("pl")
        expected = (
            pl._(
                review.REJECTED, name="Ewa", reason=pl._(review.REJECTION_REASONS["authenticity"])
            )
            + f"\n\n{pl._(review.NOTE)}\n{note}"
        )
        await server.until(
            lambda: any(m["content"] == escape(expected) for m in server.inbox(ewa_user)),
            what="Ewa's rejection, escaped",
        )
        stored = await people(bot.app).get(ewa.id)
        assert stored is not None
        assert (stored.status, stored.status_reason) == ("rejected", "authenticity")


async def test_refusals_in_the_askers_language_and_audited(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    admin = server.add_user("admin", locale="fr")
    other = server.add_user("other", locale="es-ES")
    async with running_bot(dc_settings, server) as bot:
        async with bot.app.store.unit_of_work() as uow:
            acme, acme_code = await create_agency(uow, "Acme", "cli")
            _, other_code = await create_agency(uow, "Other", "cli")
        for user in (admin, other):
            await server.reply_to(user, server.slash(user, "help"))
        await server.reply_to(admin, server.write(admin, f"/agency {acme_code.code}"))
        await server.reply_to(other, server.write(other, f"/agency {other_code.code}"))
        await server.reply_to(
            other, server.slash(other, "invite"), label=translator("es")._("Another code")
        )
        audited = len(await audit(bot))
        es, fr = translator("es"), translator("fr")

        # An admin of Other, pressing "Another code" forged to name Acme.
        await server.reply_to(
            other,
            forged_press(server, other, NewInvite(agency=acme.id).pack()),
            containing=escape(es._(OTHER_AGENCY))[:20],
        )
        assert server.inbox(other)[-1]["content"] == escape(es._(OTHER_AGENCY))
        # /review from an agency admin, in a DM.
        await server.reply_to(admin, server.slash(admin, "review"))
        assert server.inbox(admin)[-1]["content"] == escape(fr._(OPERATORS_ONLY))
        # /invite in a server channel: refused, visible to the asker alone.
        channel = server.guild_channel_id
        asked = await server.slash(admin, "invite", channel_id=channel)
        await server.until(lambda: asked.followups or server.texts(channel, admin))
        assert server.texts(channel, admin) == [escape(fr._(PRIVATE_ONLY))]
        assert server.visible(channel) == []

        rows = [(e.actor, e.action, e.outcome, e.detail) for e in (await audit(bot))[audited:]]
        assert rows == [
            (
                f"discord:{other.id}",
                "agency.invite",
                "refused",
                f"an admin of agency {acme.id + 1} in discord:dm:{other.id}",
            ),
            (
                f"discord:{admin.id}",
                "review.queue",
                "refused",
                f"not an operator in discord:dm:{admin.id}",
            ),
            (
                f"discord:{admin.id}",
                "agency.invite",
                "refused",
                f"not a private chat in discord:channel:{channel}",
            ),
        ]
        async with bot.app.store.reading() as uow:
            listing = {item.agency.name: item.open_invites for item in await uow.agencies.all()}
        assert listing == {"Acme": 0, "Other": 1}
