"""The one delivery policy: what each SendError means for the row that met it.

429 waits ``retry_after`` and holds the chat (or, bot-wide, the platform); 403 and closed DMs
block the chat until its person writes again; 400 fails the row, logged once; 5xx and network
errors back off with jitter, capped, until the row is older than the outage we ride out.
Nothing here sleeps: the outbox turns the decision into a time, so every wait is bounded.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.platform import BadRequest, RateLimited, SendError, Transient, Unreachable
from storage.models import Delivery, DeliveryOutcome

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
FIRST_BACKOFF = 1.0


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: DeliveryOutcome
    # Nothing else to this chat before this moment (a 429, a backoff).
    hold_chat_until: datetime | None = None
    # Nothing at all to this platform before this moment (a bot-wide limit).
    pause_platform_until: datetime | None = None
    # The chat refused us: its account is unreachable and its pending rows blocked.
    unreachable: bool = False


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
) -> Decision:
    attempts = row.attempts + 1
    parts = max(row.parts_sent, error.parts_sent)
    if isinstance(error, RateLimited):
        until = now + timedelta(seconds=max(0.0, error.retry_after))
        outcome = DeliveryOutcome(
            id=row.id,
            status="pending",
            error=str(error)[:500],
            next_attempt_at=until,
            attempts=row.attempts,  # a 429 is a wait, not a failed try
            parts_sent=parts,
            failing_since=row.failing_since,
        )
        if error.bot_wide:
            return Decision(outcome, hold_chat_until=until, pause_platform_until=until)
        return Decision(outcome, hold_chat_until=until)
    if isinstance(error, Unreachable):
        log.info("%s is unreachable; holding its messages until its person writes", row.chat)
        outcome = DeliveryOutcome(
            id=row.id,
            status="blocked",
            error=str(error)[:500],
            attempts=attempts,
            parts_sent=parts,
        )
        return Decision(outcome, unreachable=True)
    if isinstance(error, BadRequest):
        log.error("%s refused delivery %d: %s", row.platform, row.id, error)
        outcome = DeliveryOutcome(
            id=row.id,
            status="failed",
            error=str(error)[:500],
            attempts=attempts,
            parts_sent=parts,
        )
        return Decision(outcome)
    if not isinstance(error, Transient):
        log.error("delivery %d failed in an unexpected way: %r", row.id, error)
    failing_since = row.failing_since or now
    if now - failing_since >= give_up_after:
        log.error(
            "giving up on delivery %d to %s after %d tries: %s",
            row.id,
            row.chat,
            attempts,
            error,
        )
        outcome = DeliveryOutcome(
            id=row.id,
            status="failed",
            error=str(error)[:500],
            attempts=attempts,
            parts_sent=parts,
        )
        return Decision(outcome)
    until = now + timedelta(seconds=backoff(attempts, rng))
    outcome = DeliveryOutcome(
        id=row.id,
        status="pending",
        error=str(error)[:500],
        next_attempt_at=until,
        attempts=attempts,
        parts_sent=parts,
        failing_since=failing_since,
    )
    return Decision(outcome, hold_chat_until=until)
