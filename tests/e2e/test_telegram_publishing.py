"""Publishing on Telegram, end to end: linked groups and channels, offers in private chats,
group posts with a deep link into the private chat, and refusals for everyone else."""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import translator
from bot.services.agencies import create_agency, make_invite
from bot.services.campaigns import apply, create
from bot.services.offer_cards import ENDED
from bot.services.publishing import publish_pending
from bot.services.review import approve
from bot.settings import Settings
from handlers.access import ADMINS_ONLY
from handlers.groups import BOT_NOT_ADMIN, NOT_CHAT_ADMIN, NOT_FOUND, WRONG_CHAT
from storage.clock import utcnow
from storage.models import AuditEntry, Commission, NewCampaign
from tests.e2e.telegram_harness import RunningBot, TgUser, eventually, running_bot, sign_up
from tests.fakes.telegram_server import BOT_ID, FakeTelegram, SentMessage

pytest_plugins = ["tests.e2e.telegram_fixtures"]

GROUP = -1009100
OLD_GROUP = -9200
NEW_GROUP = -1009200
EN = translator("en")


async def audit(bot: RunningBot, action: str) -> list[AuditEntry]:
    async with bot.app.store.reading() as uow:
        return [entry for entry in await uow.audit.tail(1000) if entry.action == action]


async def linked(bot: RunningBot, agency_id: int) -> list[str]:
    async with bot.app.store.reading() as uow:
        return [chat.chat for chat in await uow.agency_chats.of_agency(agency_id)]


async def agency_admins(bot: RunningBot, agency: str, *user_ids: int) -> int:
    async with bot.app.store.unit_of_work() as uow:
        created, invite = await create_agency(uow, agency, "cli")
        codes = [invite.code] + [
            (await make_invite(uow, created, "cli")).code for _ in user_ids[1:]
        ]
    for user_id, code in zip(user_ids, codes, strict=True):
        await TgUser(bot, user_id, f"Admin{user_id}").say(f"/agency {code}")
    return created.id


async def test_linkgroup_links_only_chats_the_admin_administers_there(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    telegram.add_group(GROUP, "Acme fans", members=[603, 604], admins=[601])
    telegram.add_group(OLD_GROUP, "Acme club", members=[], admins=[601])
    telegram.add_channel(-1007001, "Acme deals", "acmedeals", admins=[601])
    telegram.add_channel(-1007002, "Acme news", "acmenews", admins=[601, BOT_ID])
    async with running_bot(tg_settings, telegram) as bot:
        acme = await agency_admins(bot, "Acme Media", 601)
        other = await agency_admins(bot, "Other Media", 603)

        # An agency admin who is no admin of the group, and someone who admins no agency.
        [refused] = await TgUser(bot, 603, "Olek", chat_id=GROUP).say("/linkgroup")
        assert refused.text == EN._(NOT_CHAT_ADMIN)
        [refused] = await TgUser(bot, 604, "Iza", chat_id=GROUP).say("/linkgroup")
        assert refused.text == EN._(ADMINS_ONLY)
        # A private chat is no group; a channel is named there, and the bot must admin it.
        private = TgUser(bot, 601, "Ada")
        [refused] = await private.say("/linkgroup")
        assert refused.text == EN._(WRONG_CHAT)
        [refused] = await private.say("/linkgroup @acmedeals")
        assert refused.text == EN._(BOT_NOT_ADMIN, title="Acme deals")
        [refused] = await private.say("/linkgroup @nosuchchannel")
        assert refused.text == EN._(NOT_FOUND, name="@nosuchchannel")
        assert await linked(bot, acme) == []
        assert await linked(bot, other) == []

        [done] = await TgUser(bot, 601, "Ada", chat_id=GROUP).say("/linkgroup")
        assert done.chat_id == GROUP
        assert done.text.startswith("Linked: Acme Media's campaigns will be posted")
        [done] = await private.say("/linkgroup @acmenews")
        assert "Acme news" in done.text
        await TgUser(bot, 601, "Ada", chat_id=OLD_GROUP).say("/linkgroup")
        assert await linked(bot, acme) == [
            f"telegram:{GROUP}",
            "telegram:-1007002",
            f"telegram:{OLD_GROUP}",
        ]

        # The group becomes a supergroup: its link follows it.
        telegram.migrate(OLD_GROUP, NEW_GROUP, by=601)
        await bot.settled()
        await eventually(lambda: True)
        assert f"telegram:{NEW_GROUP}" in await linked(bot, acme)
        assert f"telegram:{OLD_GROUP}" not in await linked(bot, acme)

        [gone] = await TgUser(bot, 601, "Ada", chat_id=GROUP).say("/unlinkgroup")
        assert gone.text.startswith("Unlinked: Acme Media's campaigns")
        assert f"telegram:{GROUP}" not in await linked(bot, acme)

        refusals = [
            (entry.actor, entry.detail.split(" in ")[0])
            for entry in await audit(bot, "agency.link_chat")
            if entry.outcome == "refused"
        ]
        assert refusals == [
            ("telegram:603", "no chat admin"),
            ("telegram:604", "not an admin"),
            ("telegram:601", "not a group or channel"),
            ("telegram:601", "the bot is no admin there"),
            ("telegram:601", "no such chat"),
        ]
        allowed = [e for e in await audit(bot, "agency.link_chat") if e.outcome == "allowed"]
        assert [(e.actor, e.target) for e in allowed] == [
            ("telegram:601", f"chat:telegram:{GROUP}"),
            ("telegram:601", "chat:telegram:-1007002"),
            ("telegram:601", f"chat:telegram:{OLD_GROUP}"),
        ]
        assert [e.target for e in await audit(bot, "agency.move_chat")] == [
            f"chat:telegram:{NEW_GROUP}"
        ]
        assert telegram.errors == []


async def test_a_published_campaign_reaches_matching_influencers_and_linked_groups(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    telegram.add_group(GROUP, "Acme fans", members=[], admins=[601])
    async with running_bot(tg_settings, telegram) as bot:
        acme = await agency_admins(bot, "Acme Media", 601)
        await TgUser(bot, 601, "Ada", chat_id=GROUP).say("/linkgroup")
        zoe = TgUser(bot, 701, "Zoe")
        await sign_up(zoe, name="Zoe")
        far = TgUser(bot, 702, "Far")
        await sign_up(far, name="Far", followers="1500")
        async with bot.app.store.unit_of_work() as uow:
            for user in (zoe, far):
                person = await uow.people.by_account("telegram", str(user.user_id))
                assert person is not None
                await approve(uow, person.id, "cli")
            campaign = await create(
                uow,
                NewCampaign(
                    agency_id=acme,
                    brand="Acme",
                    title="Winter boots",
                    brief="Show the boots in snow.",
                    commission=Commission.percent(1250),
                    countries=("PL",),
                    niches=("fashion",),
                    min_followers=5000,
                    slots=5,
                    deadline=utcnow() + timedelta(days=9),
                    landing_url="https://acme.example/boots",
                    created_by="telegram:601",
                ),
                "telegram:601",
                publish=True,
            )
        await bot.settled()
        sent_to_far = len(far.messages)

        assert await publish_pending(bot.app.store) == 1
        bot.app.outbox.wake()
        await eventually(lambda: len(telegram.messages(GROUP)) == 2, what="the group post")
        await bot.settled()

        card = zoe.last
        assert card.text.startswith("Acme: Winter boots\nShow the boots in snow.")
        assert "12.5% of each sale" in card.text
        assert card.labels() == ["Accept", "Decline", "Details"]
        datas = [button["callback_data"] for button in card.buttons()]
        assert datas[0].startswith("ofa:")
        assert len(far.messages) == sent_to_far  # 1,500 followers: too few for this campaign
        post = telegram.last(GROUP)
        assert "Acme: Winter boots" in post.text
        link = f"https://t.me/{bot.platform.username}?start=offer-{campaign.id}"
        assert post.url("Open the offer") == link

        # The deep link opens the same offer in the private chat.
        [again] = await zoe.say(f"/start offer-{campaign.id}")
        assert again.text == card.text
        assert [b["callback_data"] for b in again.buttons()] == datas
        # Someone the campaign does not match is told so, and gets no offer.
        [told] = await far.say(f"/start offer-{campaign.id}")
        assert "looks for other creators" in told.text

        # Closing it edits the card sent: the offer is no longer open.
        async with bot.app.store.unit_of_work() as uow:
            closed = await apply(uow, campaign.id, "close", "telegram:601", agency_id=acme)
        assert closed.outcome == "done"
        bot.app.outbox.wake()

        def card_now() -> SentMessage:
            return next(m for m in zoe.messages if m.message_id == card.message_id)

        await eventually(lambda: card_now().edits == 1, what="the card to be edited")
        edited = card_now()
        assert edited.text == "Acme: Winter boots\n\n" + EN._(ENDED["closed"])
        assert edited.labels() == []

        # And the group's post says so too, without its button.
        def post_now() -> SentMessage:
            return next(m for m in telegram.messages(GROUP) if m.message_id == post.message_id)

        await eventually(lambda: post_now().edits == 1, what="the group post to be edited")
        assert post_now().text == "Acme: Winter boots\n\n" + EN._(ENDED["closed"])
        assert post_now().labels() == []
        assert telegram.errors == []
