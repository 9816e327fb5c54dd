"""Applicant review: approve or reject, tell the applicant in their language, audit it.

The status changes compare-and-set on ``applicant``, so of two operators deciding at once
only the first decides, and only that decision's message goes out (in the same commit).
"""

from __future__ import annotations

import uuid
from typing import Final, Literal

from bot.core.messages import ChatRef, Outgoing
from bot.i18n import N_, translator
from bot.services.access import audit
from bot.services.people import change_status
from bot.services.publishing import offer_to_newcomer
from storage.base import UnitOfWork
from storage.models import NewDelivery, Person

# Above replies (someone waiting on their own message), ahead of bulk sends.
NOTICE_PRIORITY: Final = 1
# One message per applicant, and Telegram sends about one a second to a chat: a short batch.
QUEUE_LIMIT: Final = 5

# Why an application is not accepted, as the applicant reads it; the keys are stored.
REJECTION_REASONS: Final = {
    "audience": N_(
        "Your audience is not yet large or active enough for the brands in the programme."
    ),
    "authenticity": N_(
        "We could not confirm that the followers and engagement of your accounts are genuine."
    ),
    "content": N_("Your content does not match the topics of the brands in the programme."),
    "ownership": N_("We could not confirm that the social accounts you named are yours."),
    "duplicate": N_("You already have an account in the programme."),
    "region": N_("The programme is not open to creators in your country yet."),
}
# The same reasons on the operator's buttons: short.
REJECTION_LABELS: Final = {
    "audience": N_("Audience too small"),
    "authenticity": N_("Fake followers"),
    "content": N_("Content does not fit"),
    "ownership": N_("Accounts not theirs"),
    "duplicate": N_("Already a member"),
    "region": N_("Country not served"),
}
# A note longer than this is asked again: it must reach the applicant whole.
MAX_NOTE: Final = 1000

WELCOME: Final = N_(
    "Welcome to the programme, {name}: your application is approved! What happens next: "
    "when a brand campaign matches your country, topics and audience, I will send you its "
    "offer here. Accept it to get your personal link and promo code for your posts. Send "
    "/profile at any time to see your profile."
)
REJECTED: Final = N_(
    "Thank you for applying, {name}. We are sorry, but we cannot accept your application. "
    "The reason: {reason}"
)
NOTE: Final = N_("A note from our team:")

Decision = Literal["done", "unknown", "not_applicant", "bad_reason"]


def person_target(person_id: int) -> str:
    return f"person:{person_id}"


async def queue(uow: UnitOfWork, limit: int = QUEUE_LIMIT) -> list[Person]:
    """Applicants waiting for a decision, flagged ones first."""
    return await uow.people.find(status="applicant", limit=limit)


async def approve(uow: UnitOfWork, person_id: int, actor: str) -> Decision:
    person = await uow.people.get(person_id)
    decision = await _decide(uow, person, "approved", None, actor)
    await _audit_decision(uow, actor, "review.approve", person_id, decision, "")
    if decision == "done" and person is not None:
        t = translator(person.language)
        await _notify(uow, person, "approved", t._(WELCOME, name=person.display_name))
        # After the welcome: the open campaigns they match follow it.
        await offer_to_newcomer(uow, person.id)
    return decision


async def reject(
    uow: UnitOfWork, person_id: int, reason: str, note: str | None, actor: str
) -> Decision:
    """Reject for one of REJECTION_REASONS; ``note`` goes to the applicant as written."""
    person = await uow.people.get(person_id)
    note = (note or "").strip() or None
    if reason not in REJECTION_REASONS:
        decision: Decision = "bad_reason"
    else:
        decision = await _decide(uow, person, "rejected", reason, actor)
    await _audit_decision(uow, actor, "review.reject", person_id, decision, reason)
    if decision == "done" and person is not None:
        t = translator(person.language)
        text = t._(REJECTED, name=person.display_name, reason=t._(REJECTION_REASONS[reason]))
        if note:
            text = f"{text}\n\n{t._(NOTE)}\n{note}"
        await _notify(uow, person, "rejected", text)
    return decision


async def _decide(
    uow: UnitOfWork,
    person: Person | None,
    status: Literal["approved", "rejected"],
    reason: str | None,
    actor: str,
) -> Decision:
    if person is None:
        return "unknown"
    changed = await change_status(uow, person.id, "applicant", status, actor, reason)
    return "done" if changed else "not_applicant"


async def _audit_decision(
    uow: UnitOfWork, actor: str, action: str, person_id: int, decision: Decision, detail: str
) -> None:
    """A decision not taken is a refusal, with why beside what was asked."""
    refused = decision != "done"
    if refused:
        detail = f"{decision} {detail}".strip()
    await audit(
        uow,
        actor,
        action,
        refused=refused,
        target=person_target(person_id),
        person_id=person_id,
        detail=detail,
    )


async def _notify(uow: UnitOfWork, person: Person, decision: str, text: str) -> None:
    """To each account the person can still be reached at, after this commit."""
    rows = []
    for account in await uow.people.accounts_of(person.id):
        if not account.reachable:
            continue
        message = Outgoing(chat=ChatRef.parse(account.dm_chat), text=text)
        rows.append(
            NewDelivery(
                dedupe_key=f"review:{person.id}:{decision}:{uuid.uuid4().hex}",
                platform=account.platform,
                chat=account.dm_chat,
                payload=message.model_dump_json(exclude_defaults=True),
                priority=NOTICE_PRIORITY,
            )
        )
    await uow.outbox.add(rows)
