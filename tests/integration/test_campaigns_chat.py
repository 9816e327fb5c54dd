"""/newcampaign and /campaigns through the whole stack on a real SQLite file.

The admin is agency staff without an influencer profile, so the deadline's time zone is asked;
button data is forged by feeding presses whose data no message carried.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app import App
from bot.i18n import translator
from bot.settings import Settings
from handlers.access import ADMINS_ONLY, NOT_ALLOWED, OTHER_AGENCY, PRIVATE_ONLY
from handlers.campaigns import CampaignButton
from handlers.validators import campaign as fields
from storage.clock import utcnow
from storage.models import Campaign, Commission
from tests.conftest import restarted
from tests.fakes.platform import FakePlatform, Person
from tests.integration.signup import Answers, sign_up
from tests.integration.test_roles import admin_of, audit_rows

EN = translator("en")
PL = translator("pl")


def local_deadline(days: int = 10) -> tuple[str, datetime]:
    """What an admin in Warsaw types, and the moment in UTC it stands for."""
    day = (utcnow() + timedelta(days=days)).astimezone(ZoneInfo("Europe/Warsaw")).date()
    moment = datetime(day.year, day.month, day.day, 18, 0, tzinfo=ZoneInfo("Europe/Warsaw"))
    return f"{day:%d.%m.%Y} 18:00", moment.astimezone(UTC)


async def campaigns_of(app: App, agency_id: int) -> list[Campaign]:
    async with app.store.reading() as uow:
        return await uow.campaigns.of_agency(agency_id)


async def agency_id_of(app: App, admin: Person) -> int:
    async with app.store.reading() as uow:
        agency = await uow.agencies.agency_of(admin.platform.name, admin.user_id)
    assert agency is not None
    return agency.id


async def fill_in(admin: Person) -> datetime:
    """Every question answered well, up to the review screen; the deadline in UTC."""
    typed, deadline = local_deadline()
    await admin.say("/newcampaign")
    for answer in [
        "Acme",
        "Winter boots",
        "Show the boots in snow.",
        "12.5%",
        "Poland, DE",
    ]:
        await admin.say(answer)
    await admin.press("Fashion")
    await admin.press("Done")
    for answer in ["5k", "50", "Europe/Warsaw", typed, "https://acme.example/boots"]:
        await admin.say(answer)
    return deadline


async def test_an_admin_creates_and_publishes_a_campaign(app: App, platform: FakePlatform) -> None:
    admin = await admin_of(app, platform, "Acme Media", "7")
    agency_id = await agency_id_of(app, admin)
    typed, deadline = local_deadline()
    await admin.say("/newcampaign")
    assert admin.last_text == EN._("Which brand is the campaign for?")
    await admin.say("Acme")
    await admin.say("Winter boots")
    replies = await admin.say("x" * 1001)
    assert replies[0].text == EN._(
        "That is too long: please keep it to {max} characters or fewer.", max="1,000"
    )
    await admin.say("Show the boots\n\nin snow.")
    replies = await admin.say("a lot")
    assert replies[0].text == EN._(fields.COMMISSION_FORMAT, **fields.COMMISSION_EXAMPLES)
    replies = await admin.say("12.5 JPY")
    assert replies[0].text == EN._(fields.AMOUNT_NO_DECIMALS, currency="JPY")
    await admin.say("25,50 €")
    replies = await admin.say("Polsak, DE")
    assert replies[0].text == EN._(fields.COUNTRY_GUESS_IN_LIST, typed="Polsak", country="Poland")
    # Country names in another of the bot's languages work too.
    await admin.say("Polska, Allemagne")
    replies = await admin.press("Done")
    assert replies[0].text == EN._(fields.NO_NICHES)
    await admin.press("Fashion")
    await admin.press("Sports")
    await admin.press("Done")
    replies = await admin.say("-5")
    assert replies[0].text == EN._("A follower count cannot be negative.")
    await admin.say("5k")
    replies = await admin.say("0")
    assert replies[0].text == EN._(fields.SLOTS_RANGE, max="100,000")
    await admin.say("50")
    assert "time zone" in admin.last_text
    await admin.say("Europe/Warsaw")
    replies = await admin.say("01.01.2020 10:00")
    assert replies[0].text == EN._(fields.DEADLINE_PAST)
    replies = await admin.say("tomorrow-ish")
    assert replies[0].text == EN._(fields.DEADLINE_FORMAT, example="31.12.2026 18:00")
    await admin.say(typed)
    replies = await admin.say("http://acme.example/boots")
    assert replies[0].text == EN._(fields.URL_HTTPS)
    await admin.say("https://acme.example/boots")

    review = admin.last_text
    assert review.startswith(EN._("Please check the campaign:"))
    for line in [
        "Brand: Acme",
        "Title: Winter boots",
        "Commission: €25.50",
        "Countries: Germany, Poland",
        "Topics: Fashion, Sports",
        "Minimum followers: 5,000",
        "Slots: 50",
        "Landing page: https://acme.example/boots",
        "Show the boots\n\nin snow.",
    ]:
        assert line in review
    assert "(Europe/Warsaw)" in review

    # An edit asks one field and comes back to the review.
    await admin.press("Edit: Slots")
    await admin.say("60")
    assert "Slots: 60" in admin.last_text
    await admin.press("Publish")
    assert "is saved and publishing" in admin.last_text

    [campaign] = await campaigns_of(app, agency_id)
    assert campaign.status == "publishing"
    assert (campaign.brand, campaign.title, campaign.brief) == (
        "Acme",
        "Winter boots",
        "Show the boots\n\nin snow.",
    )
    assert campaign.commission == Commission.fixed(2550, "EUR")
    assert (campaign.countries, campaign.niches) == (("DE", "PL"), ("fashion", "sports"))
    assert (campaign.min_followers, campaign.slots) == (5000, 60)
    assert campaign.deadline == deadline
    assert campaign.created_by == "fake:7"
    actions = [(e.action, e.outcome, e.target) for e in await audit_rows(app)]
    assert ("campaign.create", "allowed", f"campaign:{campaign.id}") in actions
    assert ("campaign.publish", "allowed", f"campaign:{campaign.id}") in actions
    # The conversation is over: a second press of the old button saves nothing.
    await admin.press_stale("csave:publish")
    assert len(await campaigns_of(app, agency_id)) == 1


async def test_back_cancel_and_a_resumed_conversation(
    app: App, settings: Settings, platform: FakePlatform
) -> None:
    admin = await admin_of(app, platform, "Acme Media", "7")
    agency_id = await agency_id_of(app, admin)
    await admin.say("/newcampaign")
    await admin.say("Acme")
    await admin.say("Winter boots")
    await admin.say("/back")
    assert admin.last_text == EN._("The campaign's title, as influencers will see it?")
    await admin.say("Snow boots")
    await admin.say("/cancel")
    assert admin.last_text == EN._("Cancelled: the campaign was not saved.")
    assert await campaigns_of(app, agency_id) == []

    await admin.say("/newcampaign")
    await admin.say("Acme")
    async with restarted(app, settings, platform) as (_, fake):
        again = Person(fake, user_id="7")
        await again.say("/newcampaign")
        assert again.last_text == EN._("The campaign's title, as influencers will see it?")
        await again.say("Boots")
        assert again.last_text.startswith("The brief")


async def test_draft_then_publish_pause_resume_close_from_campaigns(
    app: App, platform: FakePlatform
) -> None:
    admin = await admin_of(app, platform, "Acme Media", "7")
    agency_id = await agency_id_of(app, admin)
    await fill_in(admin)
    await admin.press("Save as draft")
    assert "saved as a draft" in admin.last_text
    [draft] = await campaigns_of(app, agency_id)
    assert draft.status == "draft"

    await admin.say("/campaigns")
    card = admin.last
    assert card.text.startswith(f"Campaign #{draft.id}: Draft")
    assert "Influencers matched: 0" in card.text
    assert (
        "Offer cards by private message: queued 0 · sent 0 · blocked 0 (chat unreachable) · "
        "failed 0"
    ) in card.text
    assert (
        "Answers, on a card or through the campaign's link: accepted 0 · declined 0 · "
        "posts submitted 0 · slots left 50"
    ) in card.text
    assert admin.labels(card) == ["Publish", "Close", "Refresh"]
    await admin.press("Publish")
    assert admin.last.text.startswith(f"Campaign #{draft.id}: Publishing")
    assert admin.labels() == ["Pause", "Close", "Refresh"]
    await admin.press("Pause")
    assert admin.last.text.startswith(f"Campaign #{draft.id}: Paused")
    await admin.press("Resume")
    # Publishing had not finished: it goes on where it stopped.
    assert admin.last.text.startswith(f"Campaign #{draft.id}: Publishing")
    await admin.press("Close")
    assert admin.last.text.startswith(f"Campaign #{draft.id}: Closed")
    assert admin.labels() == ["Refresh"]
    # A press on a card from before: refused by the campaign's status, nothing changes.
    await admin.press_stale(CampaignButton(action="pause", campaign=draft.id).pack())
    assert "Nothing changed. The campaign's status: Closed." in admin.last.text
    [closed] = await campaigns_of(app, agency_id)
    assert closed.status == "closed"
    actions = [(e.action, e.outcome) for e in await audit_rows(app)]
    for name in ("publish", "pause", "resume", "close"):
        assert (f"campaign.{name}", "allowed") in actions
    assert ("campaign.pause", "refused") in actions


async def test_the_campaign_list_is_in_the_admins_language(
    app: App, platform: FakePlatform
) -> None:
    admin = await admin_of(app, platform, "Acme Media", "7")
    await admin.say("/campaigns")
    assert admin.last_text == EN._(
        "Your agency has no campaigns yet. Send /newcampaign to create one."
    )
    ola = await admin_of(app, platform, "Polska Media", "8")
    ola.language_hint = "pl"
    await ola.say("/newcampaign")
    assert ola.last_text == PL._("Which brand is the campaign for?")
    assert ola.last_text != EN._("Which brand is the campaign for?")


@pytest.mark.parametrize(
    "who",
    ["stranger", "influencer", "other_admin", "group"],
)
async def test_the_authorization_matrix(app: App, platform: FakePlatform, who: str) -> None:
    admin = await admin_of(app, platform, "Acme Media", "7")
    agency_id = await agency_id_of(app, admin)
    await fill_in(admin)
    await admin.press("Save as draft")
    [campaign] = await campaigns_of(app, agency_id)

    if who == "stranger":
        asker, expected = Person(platform, user_id="20"), ADMINS_ONLY
    elif who == "influencer":
        asker = Person(platform, user_id="21")
        await sign_up(asker, Answers())
        expected = ADMINS_ONLY
    elif who == "other_admin":
        asker, expected = await admin_of(app, platform, "Brandly", "22"), ADMINS_ONLY
    else:
        asker = Person(platform, user_id="7", chat_id="-100", is_private=False)
        expected = PRIVATE_ONLY
    before = len(await audit_rows(app))

    for command in ("/newcampaign", "/campaigns"):
        replies = await asker.say(command)
        wanted = expected if who != "other_admin" else None
        if wanted is not None:
            assert replies[-1].text == EN._(wanted)
    buttons = [
        CampaignButton(action=a, campaign=campaign.id).pack() for a in ("publish", "close", "show")
    ]
    for data in buttons:
        [reply] = await asker.press_forged(data)
        assert reply.text == EN._(OTHER_AGENCY if who == "other_admin" else expected)
    unchanged = await campaigns_of(app, agency_id)
    assert unchanged[0].status == "draft"
    refused = [e for e in (await audit_rows(app))[before:] if e.outcome == "refused"]
    refused_buttons = [e for e in refused if e.target == f"campaign:{campaign.id}"]
    assert [e.action for e in refused_buttons] == [
        "campaign.publish",
        "campaign.close",
        "campaign.status",
    ]
    assert all(e.actor == str(asker.user) for e in refused)
    if who != "other_admin":
        assert {e.action for e in refused} >= {"campaign.create", "campaign.list"}


async def test_forged_and_unknown_campaign_buttons(app: App, platform: FakePlatform) -> None:
    admin = await admin_of(app, platform, "Acme Media", "7")
    for data in ("cmp:explode:1", "cmp:pause", "cmp:pause:x"):
        [reply] = await admin.press_forged(data)
        assert reply.text == EN._(NOT_ALLOWED)
    [reply] = await admin.press_forged(CampaignButton(action="pause", campaign=999).pack())
    assert reply.text == EN._(NOT_ALLOWED)
    refused = [e for e in await audit_rows(app) if e.outcome == "refused"]
    assert [e.detail.split(" in ")[0] for e in refused] == ["malformed button data"] * 3 + [
        "no such campaign"
    ]
