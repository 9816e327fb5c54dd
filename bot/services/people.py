"""Applications and profiles: submit, edit, screen, change status, reachability."""

from __future__ import annotations

import logging
from typing import Literal

from storage.base import UnitOfWork
from storage.models import (
    AccountLink,
    Evidence,
    Person,
    PersonStatus,
    Profile,
    Screening,
    SealedPayout,
    SocialClaim,
    StatusBy,
)

log = logging.getLogger(__name__)

FOLLOWERS_BELOW_MINIMUM = "followers_below_minimum"
# What screening a changed audience did: declined an applicant, took a declined one back,
# flagged an approved member for review, or nothing.
AudienceOutcome = Literal["declined", "reopened", "flagged", "unchanged"]
# Which people columns each profile field sets.
COLUMN_FIELDS = frozenset({"display_name", "language", "country", "timezone"})


def screen(profile: Profile, evidence: Evidence, min_followers: int) -> Screening:
    """Reject what is clearly out of scope; flag for a human what only looks suspicious."""
    flags = tuple(evidence.as_flags())
    if profile.total_followers < min_followers:
        return Screening(status="rejected", reason=FOLLOWERS_BELOW_MINIMUM, flags=flags)
    return Screening(status="applicant", flags=flags)


async def submit_application(
    uow: UnitOfWork, profile: Profile, account: AccountLink, min_followers: int
) -> Person:
    """Store a signup with its screening; AlreadySignedUp when the account has a person."""
    return await uow.people.create_applicant(
        profile, account, lambda p, e: screen(p, e, min_followers)
    )


async def edit_profile(
    uow: UnitOfWork,
    person_id: int,
    actor: str,
    *,
    columns: dict[str, str] | None = None,
    socials: tuple[SocialClaim, ...] | None = None,
    niches: tuple[str, ...] | None = None,
    payout: SealedPayout | None = None,
) -> list[tuple[str, str]]:
    """Apply an edit; returns the review flags it raised (a reused handle or payout)."""
    return await uow.people.update(
        person_id, actor, columns=columns, socials=socials, niches=niches, payout=payout
    )


async def change_status(
    uow: UnitOfWork,
    person_id: int,
    expected: PersonStatus,
    status: PersonStatus,
    actor: str,
    reason: str | None = None,
    by: StatusBy = "operator",
) -> bool:
    """Move from ``expected`` to ``status``; False when someone changed it meanwhile."""
    changed = await uow.people.change_status(person_id, expected, status, reason, actor, by)
    if not changed:
        log.info("person %d was no longer %s; status left as it is", person_id, expected)
    return changed


async def rescreen_audience(
    uow: UnitOfWork, person: Person, actor: str, minimum: int
) -> AudienceOutcome:
    """Judge edited accounts as at submission, without overriding a human.

    An applicant below the minimum is declined; one screening declined for that reason is an
    applicant again once above it; an approved member below it is flagged for an operator,
    never declined by rule, and unflagged once above it again; an operator's rejection stands
    whatever the accounts say."""
    below = person.total_followers < minimum
    if person.status == "applicant" and below:
        declined = await change_status(
            uow, person.id, "applicant", "rejected", actor, FOLLOWERS_BELOW_MINIMUM, "screening"
        )
        return "declined" if declined else "unchanged"
    if (
        person.status == "rejected"
        and person.status_by == "screening"
        and person.status_reason == FOLLOWERS_BELOW_MINIMUM
        and not below
    ):
        reopened = await change_status(
            uow, person.id, "rejected", "applicant", actor, None, "screening"
        )
        return "reopened" if reopened else "unchanged"
    if person.status == "approved" and below:
        await uow.people.flag(person.id, FOLLOWERS_BELOW_MINIMUM)
        return "flagged"
    if person.status == "approved":
        # Back above the minimum: the flag would send an operator to review what is no longer so.
        await uow.people.resolve_flag(person.id, FOLLOWERS_BELOW_MINIMUM)
    return "unchanged"


async def mark_unreachable(uow: UnitOfWork, platform: str, chat: str) -> bool:
    """A chat refused us: nothing more goes there until its person writes again."""
    changed = await uow.people.set_reachable(platform, chat, reachable=False)
    await uow.outbox.block_chat(platform, chat)
    return changed


async def note_contact(uow: UnitOfWork, account: AccountLink | None, seen: AccountLink) -> None:
    """Someone wrote in private: remember the account (guests too) and that it is reachable."""
    if account is None or not account.reachable or account.dm_chat != seen.dm_chat:
        await uow.people.save_account(seen)
