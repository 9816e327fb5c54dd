"""Agency campaigns on Telegram, end to end: /newcampaign to publishing, /campaigns buttons,
and refusals for everyone else (a forged callback_data included)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import translator
from bot.services.agencies import create_agency
from bot.services.campaigns import create
from bot.settings import Settings
from handlers.access import ADMINS_ONLY, OTHER_AGENCY, PRIVATE_ONLY
from handlers.campaigns import CampaignButton
from storage.clock import utcnow
from storage.models import AuditEntry, Campaign, Commission, NewCampaign
from tests.e2e.telegram_harness import RunningBot, TgUser, running_bot, sign_up
from tests.fakes.telegram_server import FakeTelegram

pytest_plugins = ["tests.e2e.telegram_fixtures"]

GROUP = -1009100


async def audit(bot: RunningBot) -> list[AuditEntry]:
    async with bot.app.store.reading() as uow:
        return await uow.audit.tail(1000)


async def admin(
    bot: RunningBot, user_id: int, agency: str, language_code: str = "en"
) -> tuple[TgUser, int]:
    async with bot.app.store.unit_of_work() as uow:
        created, invite = await create_agency(uow, agency, "cli")
    user = TgUser(bot, user_id, "Admin", language_code=language_code)
    await user.say(f"/agency {invite.code}")
    return user, created.id


async def campaigns(bot: RunningBot, agency_id: int) -> list[Campaign]:
    async with bot.app.store.reading() as uow:
        return await uow.campaigns.of_agency(agency_id)


def deadline() -> str:
    day = (utcnow() + timedelta(days=9)).astimezone(ZoneInfo("Europe/Warsaw")).date()
    return f"{day:%d.%m.%Y} 20:00"


async def test_an_admin_publishes_a_campaign_and_runs_it_from_campaigns(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        ola, agency_id = await admin(bot, 601, "Acme Media", language_code="pl")
        pl = translator("pl")
        _, asked = await ola.say("/newcampaign")
        assert asked.text == pl._("Which brand is the campaign for?")
        for answer in ["<Acme> & Co", "Buty zimowe", "Pokaż buty na śniegu.", "12,5%", "Polska"]:
            await ola.say(answer)
        await ola.press(data="cniche~fashion")
        await ola.press(data="cniches:done")
        for answer in ["10 tys.", "25", "Europe/Warsaw", deadline(), "https://acme.example/?a=1"]:
            await ola.say(answer)
        review = ola.last
        assert review.text.startswith(pl._("Please check the campaign:"))
        assert pl._("Brand: {brand}", brand="<Acme> & Co") in review.text
        assert "&lt;Acme&gt; &amp; Co" in review.raw  # user text is escaped on the wire
        assert "12,5%" in review.text
        [saved] = await ola.press(data="csave:publish")
        assert saved.text == pl._(
            "Campaign #{id} is saved and publishing: matching influencers now. Send /campaigns "
            "to follow its figures.",
            id=1,
        )
        [campaign] = await campaigns(bot, agency_id)
        assert (campaign.status, campaign.niches, campaign.countries) == (
            "publishing",
            ("fashion",),
            ("PL",),
        )
        assert (campaign.min_followers, campaign.slots) == (10_000, 25)

        header, card = await ola.say("/campaigns")
        assert header.text == pl._("Campaigns of {agency}, newest first:", agency="Acme Media")
        assert card.text.startswith(
            pl._("Campaign #{id}: {status}", id=campaign.id, status=pl._("Publishing"))
        )
        assert (
            pl._(
                "Answers, on a card or through the campaign's link: accepted {accepted} · "
                "declined {declined} · posts submitted {submitted} · slots left {left}",
                accepted="0",
                declined="0",
                submitted="0",
                left="25",
            )
            in card.text
        )
        [paused] = await ola.press(pl._("Pause"))
        assert paused.message_id == card.message_id  # the card, edited in place
        assert paused.text.startswith(
            pl._("Campaign #{id}: {status}", id=campaign.id, status=pl._("Paused"))
        )
        [closed] = await ola.press(pl._("Close"))
        assert closed.labels() == [pl._("Refresh")]
        [closed_now] = await campaigns(bot, agency_id)
        assert closed_now.status == "closed"
        done = [(e.action, e.outcome) for e in await audit(bot) if e.action.startswith("campaign")]
        assert done == [
            ("campaign.create", "allowed"),
            ("campaign.publish", "allowed"),
            ("campaign.list", "allowed"),
            ("campaign.pause", "allowed"),
            ("campaign.close", "allowed"),
        ]


@pytest.mark.parametrize("who", ["influencer", "stranger", "other_admin", "group"])
async def test_everyone_else_is_refused_and_audited(
    tg_settings: Settings, telegram: FakeTelegram, who: str
) -> None:
    telegram.add_group(GROUP, "Deals", members=[601])
    async with running_bot(tg_settings, telegram) as bot:
        owner, agency_id = await admin(bot, 601, "Acme Media")
        async with bot.app.store.unit_of_work() as uow:
            campaign = await create(
                uow,
                NewCampaign(
                    agency_id=agency_id,
                    brand="Acme",
                    title="Boots",
                    brief="Snow.",
                    commission=Commission.percent(1000),
                    slots=5,
                    deadline=utcnow() + timedelta(days=5),
                    landing_url="https://acme.example",
                    created_by="cli",
                ),
                "cli",
            )
        es = translator("es")
        if who == "influencer":
            asker = TgUser(bot, 611, "Ines", language_code="es")
            await sign_up(asker, language="es", name="Ines")
            expected = ADMINS_ONLY
        elif who == "stranger":
            asker, expected = TgUser(bot, 612, "Igor", language_code="es"), ADMINS_ONLY
        elif who == "other_admin":
            asker, _ = await admin(bot, 613, "Brandly", language_code="es")
            expected = OTHER_AGENCY
        else:
            asker = TgUser(bot, 601, "Admin", chat_id=GROUP, language_code="es")
            expected = PRIVATE_ONLY
        audited = len(await audit(bot))
        if who != "other_admin":
            [refused] = await asker.say("/newcampaign")
            assert refused.text == es._(expected)
            [refused] = await asker.say("/campaigns")
            assert refused.text == es._(expected)
        # Any button the client sends, naming Acme's campaign.
        await asker.say("/language")
        real = next(b["callback_data"] for row in asker.last.keyboard for b in row)
        for action in ("publish", "close", "show"):
            data = CampaignButton(action=action, campaign=campaign.id).pack()
            update = telegram.press_update(asker.chat_id, asker.user_id, data=real)
            update["callback_query"]["data"] = data
            await bot.settled(telegram.push(update))
            assert asker.last.text == es._(expected)
        [unchanged] = await campaigns(bot, agency_id)
        assert unchanged.status == "draft"
        rows = [
            (e.actor, e.action, e.outcome)
            for e in (await audit(bot))[audited:]
            if e.action.startswith("campaign")
        ]
        account = f"telegram:{asker.user_id}"
        pressed = [
            (account, "campaign.publish", "refused"),
            (account, "campaign.close", "refused"),
            (account, "campaign.status", "refused"),
        ]
        typed = [(account, "campaign.create", "refused"), (account, "campaign.list", "refused")]
        assert rows == (pressed if who == "other_admin" else typed + pressed)
        assert owner.user_id == 601
