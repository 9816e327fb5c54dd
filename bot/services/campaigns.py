"""Campaigns as agencies run them: create, publish, pause, resume, close, and their figures.

Publishing only marks a campaign ``publishing``, in the unit of work of the request: the
publishing job picks every ``publishing`` campaign up (``uow.campaigns.in_status``), matches
and queues its offers in batches, and marks it ``published`` when done. A crash in between
leaves it ``publishing``, so the job resumes it. Every change compares and sets the status it
starts from, so two admins pressing at once change it once, and every try is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from bot.services.access import audit
from bot.services.publishing import start_settling
from storage.base import UnitOfWork
from storage.clock import utcnow
from storage.models import Campaign, CampaignFigures, CampaignStatus, NewCampaign

Action = Literal["publish", "pause", "resume", "close"]
ACTIONS: Final[tuple[Action, ...]] = ("publish", "pause", "resume", "close")
# The statuses each action starts from.
STARTS: Final[dict[Action, tuple[CampaignStatus, ...]]] = {
    "publish": ("draft",),
    "pause": ("publishing", "published"),
    "resume": ("paused",),
    "close": ("draft", "publishing", "published", "paused"),
}
# unknown: no such campaign; other_agency: not the actor's agency's; not_now: its status does
# not allow it (closed, or changed meanwhile); past_deadline: publishing it would offer
# nothing anyone could still do.
Outcome = Literal["done", "unknown", "other_agency", "not_now", "past_deadline"]


@dataclass(frozen=True, slots=True)
class Change:
    outcome: Outcome
    campaign: Campaign | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """A campaign with its figures, as /campaigns and ``kolbot campaign status`` show it."""

    campaign: Campaign
    figures: CampaignFigures

    @property
    def broadcasting(self) -> bool:
        """Offers are still being matched or sent: what a progress bar follows. Cards held
        for their people's quiet hours go in the morning: the bar does not wait for them."""
        return self.campaign.status == "publishing" or (
            self.campaign.status == "published" and self.figures.queued > self.figures.quiet
        )


def campaign_target(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


def available(campaign: Campaign) -> list[Action]:
    """What may be done to it now, in the order buttons show it."""
    return [action for action in ACTIONS if campaign.status in STARTS[action]]


async def create(
    uow: UnitOfWork, campaign: NewCampaign, actor: str, *, publish: bool = False
) -> Campaign:
    """Store a campaign as a draft, or straight away as ``publishing``."""
    created = await uow.campaigns.create(campaign)
    await audit(
        uow,
        actor,
        "campaign.create",
        target=campaign_target(created.id),
        agency_id=created.agency_id,
        detail=created.title,
    )
    if not publish:
        return created
    change = await apply(uow, created.id, "publish", actor, agency_id=created.agency_id)
    return change.campaign or created


async def apply(
    uow: UnitOfWork, campaign_id: int, action: Action, actor: str, *, agency_id: int | None
) -> Change:
    """Publish, pause, resume or close; ``agency_id`` is the acting admin's agency (None for
    operators and the command line, who act for every agency)."""
    campaign = await uow.campaigns.get(campaign_id)
    name = f"campaign.{action}"
    target = campaign_target(campaign_id)
    if campaign is None:
        await audit(uow, actor, name, refused=True, target=target, detail="no such campaign")
        return Change("unknown")
    refusal = _refusal(campaign, action, agency_id)
    if refusal is not None:
        outcome, why = refusal
        await audit(
            uow,
            actor,
            name,
            refused=True,
            target=target,
            agency_id=campaign.agency_id,
            detail=why,
        )
        return Change(outcome, campaign)
    now = utcnow()
    following = _following(campaign, action)
    if not await uow.campaigns.change_status(campaign_id, STARTS[action], following, now):
        await audit(
            uow,
            actor,
            name,
            refused=True,
            target=target,
            agency_id=campaign.agency_id,
            detail="changed meanwhile",
        )
        return Change("not_now", await uow.campaigns.get(campaign_id))
    # Offers not sent yet wait while it is paused, go out when it resumes, and are withdrawn
    # when it closes: a batch now, the rest by the job.
    if action != "publish":
        await start_settling(uow, campaign_id)
    detail = f"{campaign.status} -> {following}"
    await audit(uow, actor, name, target=target, agency_id=campaign.agency_id, detail=detail)
    return Change("done", await uow.campaigns.get(campaign_id))


def _refusal(
    campaign: Campaign, action: Action, agency_id: int | None
) -> tuple[Outcome, str] | None:
    if agency_id is not None and campaign.agency_id != agency_id:
        return "other_agency", f"an admin of agency {agency_id}"
    if campaign.status not in STARTS[action]:
        return "not_now", f"the campaign is {campaign.status}"
    if action in ("publish", "resume") and campaign.deadline <= utcnow():
        return "past_deadline", "the deadline has passed"
    return None


def _following(campaign: Campaign, action: Action) -> CampaignStatus:
    if action == "publish":
        return "publishing"
    if action == "pause":
        return "paused"
    if action == "close":
        return "closed"
    # Paused before publishing had finished: the job picks it up again where it stopped.
    return "published" if campaign.published_at is not None else "publishing"


async def report(uow: UnitOfWork, campaign_id: int) -> Report | None:
    campaign = await uow.campaigns.get(campaign_id)
    if campaign is None:
        return None
    return Report(campaign, await uow.campaigns.figures(campaign_id))


async def reports(uow: UnitOfWork, agency_id: int | None, limit: int = 50) -> list[Report]:
    """Newest first: one agency's campaigns, or every agency's."""
    if agency_id is None:
        campaigns = await uow.campaigns.all(limit)
    else:
        campaigns = await uow.campaigns.of_agency(agency_id, limit)
    return [Report(c, await uow.campaigns.figures(c.id)) for c in campaigns]
