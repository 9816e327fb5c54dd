"""Agency admins and operators on Telegram, end to end: invites, review, refusals.

A refusal is answered in the asker's Telegram language and audited; a forged callback_data
(a client can send any) is refused like the command it stands for.
"""

from __future__ import annotations

import re

import pytest

from bot.i18n import translator
from bot.services import review
from bot.services.agencies import create_agency
from bot.settings import Settings
from handlers.access import ADMINS_ONLY, OPERATORS_ONLY, PRIVATE_ONLY
from handlers.agency import VOIDED
from handlers.review import Decide
from storage.models import AuditEntry
from tests.e2e.telegram_harness import RunningBot, TgUser, eventually, running_bot, sign_up
from tests.fakes.store import people
from tests.fakes.telegram_server import FakeTelegram

pytest_plugins = ["tests.e2e.telegram_fixtures"]

OPERATOR = 900
GROUP = -1009000
CODE = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


@pytest.fixture
def roles_settings(tg_settings: Settings) -> Settings:
    return tg_settings.model_copy(update={"operators": (f"telegram:{OPERATOR}",)})


async def audit(bot: RunningBot) -> list[AuditEntry]:
    async with bot.app.store.reading() as uow:
        return await uow.audit.tail(1000)


async def forged_press(user: TgUser, real: str, forged: str) -> None:
    """Press the button whose data is ``real``, with ``forged`` put in its place."""
    update = user.server.press_update(user.chat_id, user.user_id, data=real)
    update["callback_query"]["data"] = forged
    await user.bot.settled(user.server.push(update))


async def test_an_invite_code_makes_an_admin_who_invites_the_next(
    roles_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(roles_settings, telegram) as bot:
        async with bot.app.store.unit_of_work() as uow:
            agency, invite = await create_agency(uow, "Acme <Media> & Co", "cli")
        ola = TgUser(bot, 501, "Ola", language_code="pl")
        [joined] = await ola.say(f"/agency {invite.code}")
        assert joined.text == translator("pl")._(
            "You are now an admin of {agency}. Send /invite to make a code for another admin, "
            "and /help to see what you can do.",
            agency="Acme <Media> & Co",
        )
        assert "&lt;Media&gt; &amp; Co" in joined.raw
        # Telegram has groups and channels to link; an admin has no agency left to join.
        [listing] = await ola.say("/help")
        listed = {line.split(" ")[0] for line in listing.text.splitlines()[1:]}
        assert {"/invite", "/linkgroup", "/unlinkgroup"} <= listed
        assert "/agency" not in listed
        [made] = await ola.say("/invite")
        [code] = set(CODE.findall(made.text))
        [again] = await ola.press(translator("pl")._("Another code"))
        assert CODE.findall(again.text)[0] != code

        ewa = TgUser(bot, 502, "Ewa", language_code="en")
        [welcome] = await ewa.say(f"/agency {code.lower()}")
        assert welcome.text.startswith("You are now an admin of Acme <Media> & Co.")
        [spent] = await TgUser(bot, 503, "Ida").say(f"/agency {code}")
        assert spent.text.startswith("That invite code has been used already.")
        async with bot.app.store.reading() as uow:
            admins = await uow.agencies.admins(agency.id)
        assert [a.account for a in admins] == ["telegram:501", "telegram:502"]
        joins = [(e.actor, e.outcome) for e in await audit(bot) if e.action == "agency.join"]
        assert joins == [
            ("telegram:501", "allowed"),
            ("telegram:502", "allowed"),
            ("telegram:503", "refused"),
        ]


async def test_review_approve_and_reject_with_a_reason_and_a_note(
    roles_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(roles_settings, telegram) as bot:
        anna = TgUser(bot, 511, "Anna", language_code="en")
        await sign_up(anna, name="Anna")
        ewa = TgUser(bot, 512, "Ewa", language_code="pl")
        await sign_up(ewa, language="pl", name="Ewa")
        anna_id = (await people(bot.app).by_account("telegram", "511")).id
        ewa_id = (await people(bot.app).by_account("telegram", "512")).id

        operator = TgUser(bot, OPERATOR, "Op", language_code="en")
        header, *cards = await operator.say("/review")
        assert header.text == "Applicants waiting for review, flagged ones first:"
        assert [card.text.splitlines()[0] for card in cards] == [
            f"Applicant #{anna_id}: Anna",
            f"Applicant #{ewa_id}: Ewa",
        ]
        assert cards[0].labels() == ["Approve", "Reject"]

        [approved] = await operator.press(data=Decide(decision="approve", person=anna_id).pack())
        assert approved.message_id == cards[0].message_id  # the card, edited
        assert approved.text == f"Approved: applicant #{anna_id}. They get a welcome message now."
        await eventually(
            lambda: anna.last.text.startswith("Welcome to the programme, Anna"),
            what="the welcome",
        )

        await operator.press(data=Decide(decision="reject", person=ewa_id).pack())
        await operator.press("Fake followers")
        assert operator.last.text.startswith(f"Rejecting applicant #{ewa_id}: Fake followers")
        note = "Your <b>growth</b> & *likes* jumped 10x in May"
        [done] = await operator.say(note)
        assert (
            done.text == f"Rejected: applicant #{ewa_id}. They get the reason and your note now."
        )
        pl = translator("pl")
        expected = (
            pl._(
                review.REJECTED, name="Ewa", reason=pl._(review.REJECTION_REASONS["authenticity"])
            )
            + f"\n\n{pl._(review.NOTE)}\n{note}"
        )
        await eventually(lambda: ewa.last.text == expected, what="the rejection")
        # Sent as written: the markup in the note is text, escaped on the wire.
        assert "&lt;b&gt;growth&lt;/b&gt; &amp;" in ewa.last.raw
        stored = await people(bot.app).get(ewa_id)
        assert stored is not None
        assert (stored.status, stored.status_reason) == ("rejected", "authenticity")
        decisions = [
            (e.actor, e.action, e.target, e.outcome)
            for e in await audit(bot)
            if e.action.startswith("review.") and e.action != "review.queue"
        ]
        assert decisions == [
            (f"telegram:{OPERATOR}", "review.approve", f"person:{anna_id}", "allowed"),
            (f"telegram:{OPERATOR}", "review.reject", f"person:{ewa_id}", "allowed"),
        ]


async def test_refusals_in_the_askers_language_and_audited(
    roles_settings: Settings, telegram: FakeTelegram
) -> None:
    telegram.add_group(GROUP, "Team", members=[OPERATOR])
    async with running_bot(roles_settings, telegram) as bot:
        influencer = TgUser(bot, 521, "Ines", language_code="es")
        await sign_up(influencer, language="es", name="Ines")
        ines_id = (await people(bot.app).by_account("telegram", "521")).id
        guest = TgUser(bot, 522, "Igor", language_code="ru")
        in_group = TgUser(bot, OPERATOR, "Op", chat_id=GROUP, language_code="fr")
        es, ru, fr = translator("es"), translator("ru"), translator("fr")
        audited = len(await audit(bot))

        [refused] = await influencer.say("/review")
        assert refused.text == es._(OPERATORS_ONLY)
        [refused] = await guest.say("/invite")
        assert refused.text == ru._(ADMINS_ONLY)
        [refused] = await in_group.say("/review")
        assert (refused.chat_id, refused.text) == (GROUP, fr._(PRIVATE_ONLY))
        assert refused.buttons() == []
        # A code sent in the group is spent there: nobody who read it can use it.
        async with bot.app.store.unit_of_work() as uow:
            _, exposed = await create_agency(uow, "Acme", "cli")
        refusal, voided = await in_group.say(f"/agency {exposed.code}")
        assert (refusal.text, voided.text) == (fr._(PRIVATE_ONLY), fr._(VOIDED))
        [spent] = await guest.say(f"/agency {exposed.code}")
        assert spent.text == ru._(
            "That invite code has been used already. Ask your agency for a new one."
        )
        # The influencer approving themself, with callback_data edited on a /language button.
        await influencer.say("/language")
        before = len(influencer.messages)
        await forged_press(
            influencer, "setlang:es", Decide(decision="approve", person=ines_id).pack()
        )
        assert influencer.messages[before:][-1].text == es._(OPERATORS_ONLY)

        rows = [(e.actor, e.action, e.outcome) for e in (await audit(bot))[audited:]]
        assert rows == [
            ("telegram:521", "review.queue", "refused"),
            ("telegram:522", "agency.invite", "refused"),
            (f"telegram:{OPERATOR}", "review.queue", "refused"),
            ("cli", "agency.create", "allowed"),
            ("cli", "agency.invite", "allowed"),
            (f"telegram:{OPERATOR}", "agency.join", "refused"),
            (f"telegram:{OPERATOR}", "agency.void_invite", "allowed"),
            ("telegram:522", "agency.join", "refused"),
            ("telegram:521", "review.approve", "refused"),
        ]
        stored = await people(bot.app).get(ines_id)
        assert stored is not None
        assert stored.status == "applicant"
