"""Applicant review for operators: the queue, Approve, and Reject with a reason and a note.

Every event checks again that its sender is an operator in a private chat: the buttons come
back from the platform, and anyone can forge one naming any applicant.
"""

from __future__ import annotations

from typing import Final, Literal

from bot.core.callback import CallbackData
from bot.core.context import Context
from bot.core.conversation import Flow, Step
from bot.core.errors import Invalid
from bot.core.messages import Button
from bot.core.router import Router
from bot.i18n import N_, NC_, Translator
from bot.services import review
from bot.services.access import audit
from bot.services.review import MAX_NOTE, REJECTION_LABELS, REJECTION_REASONS, person_target
from handlers.access import NOT_ALLOWED, operator, private_chat, refuse
from handlers.cards import draft_from_person, socials_lines
from handlers.commands import PREFERENCES
from handlers.keyboards import STALE_BUTTON, rows
from storage.models import Person

router = Router()

COMMAND_NAMES: Final = (NC_("command name", "review"),)
NOTE_FLOW: Final = "review_note"

FLAG_TEXTS: Final = {
    "handle_claimed": N_("{detail} is also claimed by another person"),
    "payout_reused": N_("The payout details are also used by another person"),
}


class Decide(CallbackData, prefix="rv"):
    decision: Literal["approve", "reject"]
    person: int


class RejectFor(CallbackData, prefix="rvr"):
    person: int
    reason: str


class NoteChoice(CallbackData, prefix="rvn"):
    """The note question's buttons; which applicant is in the operator's conversation."""

    choice: Literal["none", "cancel"]


def review_card(t: Translator, person: Person, minimum: int) -> str:
    lines = [
        t._("Applicant #{id}: {name}", id=person.id, name=person.display_name),
        t._("Applied: {date} (UTC)", date=t.datetime(person.created_at, "UTC")),
        t._("Country: {country}", country=t.country_name(person.country)),
        t._(
            "Followers in total: {total} (the minimum is {minimum})",
            total=t.number(person.total_followers),
            minimum=t.number(minimum),
        ),
        *socials_lines(t, draft_from_person(person)["socials"]),
    ]
    if person.flags:
        lines.append(t._("Flagged for review:"))
        lines += [
            "⚠ " + (t._(FLAG_TEXTS[reason], detail=detail) if reason in FLAG_TEXTS else reason)
            for reason, detail in person.flags
        ]
    return "\n".join(lines)


def _decision_buttons(ctx: Context, person_id: int) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Button(
                label=ctx._("Approve"), data=Decide(decision="approve", person=person_id).pack()
            ),
            Button(label=ctx._("Reject"), data=Decide(decision="reject", person=person_id).pack()),
        ),
    )


@router.command("review", N_("Review applicants"), audience="operator")
async def review_queue(ctx: Context) -> None:
    found = await operator(ctx, "review.queue")
    if found is None:
        return
    waiting = await review.queue(ctx.uow)
    await audit(ctx.uow, found.account, "review.queue", detail=f"{len(waiting)} shown")
    if not waiting:
        ctx.reply(ctx._("No applicants are waiting for review."))
        return
    ctx.reply(ctx._("Applicants waiting for review, flagged ones first:"))
    minimum = ctx.services.settings.min_followers
    for person in waiting:
        ctx.reply(review_card(ctx.t, person, minimum), buttons=_decision_buttons(ctx, person.id))
    if len(waiting) == review.QUEUE_LIMIT:
        ctx.reply(ctx._("Decide on these, then send /review again for more."))


async def _forged(ctx: Context, action: str) -> None:
    """Button data with our prefix that does not parse: nobody's button."""
    if await private_chat(ctx, action):
        await refuse(ctx, action, NOT_ALLOWED, why="malformed button data")


def _not_decided(ctx: Context, person_id: int, outcome: str) -> str:
    if outcome == "unknown":
        return ctx._("There is no applicant #{id}.", id=person_id)
    return ctx._("Applicant #{id} was decided already: nothing changed.", id=person_id)


@router.button(Decide)
async def decide(ctx: Context) -> None:
    pressed = Decide.unpack(ctx.incoming.button_data)
    if pressed is None:
        await _forged(ctx, "review.decide")
        return
    action = f"review.{pressed.decision}"
    found = await operator(ctx, action, target=person_target(pressed.person))
    if found is None:
        return
    if pressed.decision == "approve":
        outcome = await review.approve(ctx.uow, pressed.person, found.account)
        if outcome == "done":
            ctx.reply(
                ctx._(
                    "Approved: applicant #{id}. They get a welcome message now.",
                    id=pressed.person,
                ),
                edit=True,
            )
        else:
            ctx.reply(_not_decided(ctx, pressed.person, outcome), edit=True)
        return
    person = await ctx.uow.people.get(pressed.person)
    if person is None or person.status != "applicant":
        ctx.reply(_not_decided(ctx, pressed.person, "unknown" if person is None else ""))
        return
    reasons = [
        Button(label=ctx._(label), data=RejectFor(person=person.id, reason=reason).pack())
        for reason, label in REJECTION_LABELS.items()
    ]
    ctx.reply(
        ctx._(
            "Why is applicant #{id} ({name}) not accepted? They read the reason in their "
            "language.",
            id=person.id,
            name=person.display_name,
        ),
        buttons=rows(reasons),
        edit=True,
    )


@router.button(RejectFor)
async def reject_for(ctx: Context) -> None:
    pressed = RejectFor.unpack(ctx.incoming.button_data)
    if pressed is None or pressed.reason not in REJECTION_REASONS:
        await _forged(ctx, "review.reject")
        return
    if await operator(ctx, "review.reject", target=person_target(pressed.person)) is None:
        return
    kept = ctx.conversation
    if kept is not None and kept.flow not in (NOTE_FLOW, PREFERENCES):
        ctx.reply(
            ctx._(
                "Finish what you are doing in this chat first (or send /cancel), then choose "
                "the reason again."
            )
        )
        return
    data: dict[str, object] = {"person": pressed.person, "reason": pressed.reason}
    if kept is not None and kept.data.get("lang"):
        data["lang"] = kept.data["lang"]  # a language chosen with /language stays chosen
    await note_flow.begin(ctx, "note", data)


def _end_note(ctx: Context) -> None:
    """Back to no conversation, keeping a language chosen with /language before."""
    lang = ctx.data.get("lang")
    ctx.finish()
    if lang:
        ctx.start(PREFERENCES, PREFERENCES, {"lang": lang})


async def ask_note(ctx: Context) -> None:
    label = REJECTION_LABELS[str(ctx.data["reason"])]
    buttons = (
        (
            Button(label=ctx._("Send without a note"), data=NoteChoice(choice="none").pack()),
            Button(label=ctx._("Cancel"), data=NoteChoice(choice="cancel").pack()),
        ),
    )
    ctx.reply(
        ctx._(
            "Rejecting applicant #{id}: {reason}\nType a note for them if you like: they get "
            "it exactly as you write it. Or send the reason alone.",
            id=ctx.data["person"],
            reason=ctx._(label),
        ),
        buttons=buttons,
    )


async def answer_note(ctx: Context) -> str | None:
    if ctx.incoming.kind != "text":
        raise Invalid(N_("Please type your note, or choose one of the options below."))
    note = ctx.incoming.text.strip()
    if len(note) > MAX_NOTE:
        raise Invalid(N_("A note can be at most {max} characters."), max=MAX_NOTE)
    await _reject(ctx, note or None)
    return None


async def _reject(ctx: Context, note: str | None) -> None:
    person_id = int(ctx.data["person"])
    reason = str(ctx.data["reason"])
    _end_note(ctx)
    found = await operator(ctx, "review.reject", target=person_target(person_id))
    if found is None:
        return
    outcome = await review.reject(ctx.uow, person_id, reason, note, found.account)
    if outcome != "done":
        ctx.reply(_not_decided(ctx, person_id, outcome))
    elif note:
        ctx.reply(
            ctx._(
                "Rejected: applicant #{id}. They get the reason and your note now.", id=person_id
            )
        )
    else:
        ctx.reply(ctx._("Rejected: applicant #{id}. They get the reason now.", id=person_id))


@router.button(NoteChoice)
async def note_choice(ctx: Context) -> None:
    pressed = NoteChoice.unpack(ctx.incoming.button_data)
    if pressed is None:
        await _forged(ctx, "review.reject")
        return
    if ctx.conversation is None or ctx.conversation.flow != NOTE_FLOW:
        ctx.reply(ctx._(STALE_BUTTON))
        return
    if pressed.choice == "none":
        await _reject(ctx, None)
        return
    person_id = ctx.data["person"]
    _end_note(ctx)
    ctx.reply(ctx._("Cancelled: applicant #{id} is still waiting for review.", id=person_id))


note_flow = router.flow(Flow(NOTE_FLOW, [Step("note", ask_note, answer_note)]))
