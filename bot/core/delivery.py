"""The one delivery policy: what each SendError means for the row that met it.

429 waits ``retry_after`` and holds the chat (or, bot-wide, the platform); 403 and closed DMs
block the chat until its person writes again; 400 fails the row, logged once; 5xx and network
errors back off with jitter, capped, until the row is older than the outage we ride out.
A send whose answer was lost (``Transient.may_have_arrived``) may have been delivered: it is
repeated at most ``repeats`` times, then left ``unconfirmed`` for an operator, so a platform
that answers too late never collects a copy per retry. Nothing here sleeps: the outbox turns
the decision into a time, so every wait is bounded.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.core.platform import BadRequest, RateLimited, SendError, Transient, Unreachable
from storage.models import Delivery, DeliveryOutcome

log = logging.getLogger(__name__)

OutcomeStatus = Literal["sent", "pending", "blocked", "failed", "unconfirmed"]
MAX_BACKOFF = 60.0
FIRST_BACKOFF = 1.0
# Sends of one row whose answer was lost, after the first, before it is left unconfirmed.
UNCONFIRMED_REPEATS = 1


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: DeliveryOutcome
    # Nothing else to this chat before this moment (a 429, a backoff).
    hold_chat_until: datetime | None = None
    # Nothing at all to this platform before this moment (a bot-wide limit).
    pause_platform_until: datetime | None = None
    # The chat refused us: its account is unreachable and its pending rows blocked.
    unreachable: bool = False
    # The platform failed this try (a network error, a 5xx): whatever of it waits out a
    # backoff may go as soon as it answers again.
    platform_failing: bool = False


def backoff(attempts: int, rng: random.Random) -> float:
    """Exponential from FIRST_BACKOFF, capped at MAX_BACKOFF, with jitter so a recovering
    platform is not met by every retry at once."""
    ceiling = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** max(0, attempts - 1))
    return float(ceiling * rng.uniform(0.5, 1.0))


def sent(row: Delivery, message_id: str, parts: int) -> DeliveryOutcome:
    return DeliveryOutcome(
        id=row.id,
        status="sent",
        message_id=message_id,
        attempts=row.attempts + 1,
        parts_sent=parts,
    )


def decide(
    row: Delivery,
    error: SendError,
    now: datetime,
    give_up_after: timedelta,
    rng: random.Random,
    *,
    repeats: int = UNCONFIRMED_REPEATS,
) -> Decision:
    parts = max(row.parts_sent, error.parts_sent)

    def outcome(status: OutcomeStatus, attempts: int, **more: object) -> DeliveryOutcome:
        return DeliveryOutcome.model_validate(
            {
                "id": row.id,
                "status": status,
                "error": str(error)[:500],
                "attempts": attempts,
                "parts_sent": parts,
                **more,
            }
        )

    attempts = row.attempts + 1
    if isinstance(error, RateLimited):
        until = now + timedelta(seconds=max(0.0, error.retry_after))
        # A 429 is a wait, not a failed try; and the platform answered, so no outage is on.
        waiting = outcome("pending", row.attempts, next_attempt_at=until, failing_since=None)
        if error.bot_wide:
            return Decision(waiting, hold_chat_until=until, pause_platform_until=until)
        return Decision(waiting, hold_chat_until=until)
    if isinstance(error, Unreachable):
        log.info("%s is unreachable; holding its messages until its person writes", row.chat)
        return Decision(outcome("blocked", attempts), unreachable=True)
    if isinstance(error, BadRequest):
        log.error("%s refused delivery %d: %s", row.platform, row.id, error)
        return Decision(outcome("failed", attempts))
    if not isinstance(error, Transient):
        log.error("delivery %d failed in an unexpected way: %r", row.id, error)
    lost = isinstance(error, Transient) and error.may_have_arrived
    lost_answers = row.lost_answers + 1 if lost else row.lost_answers
    failing_since = row.failing_since or now
    if (lost and lost_answers > repeats) or now - failing_since >= give_up_after:
        # Once it may have arrived, failed would be a lie: retrying it may repeat it.
        status: OutcomeStatus = "unconfirmed" if lost_answers else "failed"
        log.error(
            "giving up on delivery %d to %s after %d tries (%s): %s",
            row.id,
            row.chat,
            attempts,
            f"{lost_answers} without an answer, each may have arrived; "
            "`kolbot outbox retry --unconfirmed` sends it again"
            if lost_answers
            else "`kolbot outbox retry --failed` sends it again",
            error,
        )
        return Decision(
            outcome(status, attempts, lost_answers=lost_answers), platform_failing=True
        )
    until = now + timedelta(seconds=backoff(attempts, rng))
    retry = outcome(
        "pending",
        attempts,
        next_attempt_at=until,
        failing_since=failing_since,
        lost_answers=lost_answers,
    )
    return Decision(retry, hold_chat_until=until, platform_failing=True)
