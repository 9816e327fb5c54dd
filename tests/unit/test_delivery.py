"""The delivery policy: what each SendError means for the row that met it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.delivery import MAX_BACKOFF, backoff, decide
from bot.core.platform import BadRequest, RateLimited, SendError, Transient, Unreachable
from storage.models import Delivery

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
GIVE_UP = timedelta(hours=1)


def row(
    *,
    attempts: int = 0,
    age: timedelta = timedelta(seconds=1),
    failing_for: timedelta | None = None,
    lost_answers: int = 0,
) -> Delivery:
    return Delivery(
        failing_since=None if failing_for is None else NOW - failing_for,
        id=7,
        dedupe_key="k",
        platform="fake",
        chat="fake:1",
        payload="{}",
        status="sending",
        attempts=attempts,
        lost_answers=lost_answers,
        created_at=NOW - age,
        next_attempt_at=NOW - age,
    )


def test_a_rate_limit_waits_exactly_as_told_and_holds_the_chat() -> None:
    decision = decide(row(attempts=2), RateLimited(3.5), NOW, GIVE_UP, random.Random(1))
    assert decision.outcome.status == "pending"
    assert decision.outcome.next_attempt_at == NOW + timedelta(seconds=3.5)
    assert decision.hold_chat_until == NOW + timedelta(seconds=3.5)
    assert decision.pause_platform_until is None
    assert decision.outcome.attempts == 2  # a wait, not a failed try


def test_a_bot_wide_limit_pauses_the_platform() -> None:
    limited = RateLimited(2.0, bot_wide=True)
    decision = decide(row(), limited, NOW, GIVE_UP, random.Random(1))
    assert decision.pause_platform_until == NOW + timedelta(seconds=2)


def test_a_refusal_blocks_the_chat() -> None:
    decision = decide(row(), Unreachable("blocked by the user"), NOW, GIVE_UP, random.Random(1))
    assert (decision.outcome.status, decision.unreachable) == ("blocked", True)


def test_a_bad_request_fails_once_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    decision = decide(row(), BadRequest("chat not found"), NOW, GIVE_UP, random.Random(1))
    assert decision.outcome.status == "failed"
    assert decision.hold_chat_until is None
    assert caplog.text.count("chat not found") == 1


@pytest.mark.parametrize("attempts", [0, 1, 3, 6, 20])
def test_transient_failures_back_off_with_jitter_capped_at_a_minute(attempts: int) -> None:
    rng = random.Random(attempts)
    decision = decide(row(attempts=attempts), Transient("502"), NOW, GIVE_UP, rng)
    assert decision.outcome.status == "pending"
    assert decision.outcome.attempts == attempts + 1
    assert decision.outcome.next_attempt_at is not None
    wait = (decision.outcome.next_attempt_at - NOW).total_seconds()
    ceiling = min(MAX_BACKOFF, 2.0**attempts)
    assert ceiling / 2 <= wait <= ceiling


def test_backoff_spreads_retries() -> None:
    waits = {round(backoff(7, random.Random(seed)), 3) for seed in range(20)}
    assert len(waits) > 10
    assert all(30.0 <= wait <= 60.0 for wait in waits)


def test_an_outage_longer_than_the_setting_fails_the_row() -> None:
    failing = row(attempts=40, failing_for=GIVE_UP + timedelta(seconds=1))
    assert decide(failing, Transient("502"), NOW, GIVE_UP, random.Random(1)).outcome.status == (
        "failed"
    )


def test_the_outage_is_counted_from_the_first_failure_not_the_queueing() -> None:
    """A broadcast's tail may wait hours for its turn: that is no outage."""
    queued_long_ago = row(age=GIVE_UP * 5)
    decision = decide(queued_long_ago, Transient("502"), NOW, GIVE_UP, random.Random(1))
    assert decision.outcome.status == "pending"
    assert decision.outcome.failing_since == NOW
    still_failing = row(attempts=3, age=GIVE_UP * 5, failing_for=timedelta(minutes=10))
    decision = decide(still_failing, Transient("502"), NOW, GIVE_UP, random.Random(1))
    assert decision.outcome.failing_since == NOW - timedelta(minutes=10)


def test_parts_already_sent_are_kept() -> None:
    error: SendError = Transient("502")
    error.parts_sent = 2
    assert decide(row(), error, NOW, GIVE_UP, random.Random(1)).outcome.parts_sent == 2


def test_a_lost_answer_is_repeated_as_often_as_allowed_then_left_unconfirmed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A read timeout may hide a delivered message: each repeat may be one more copy."""
    lost = Transient("timed out", may_have_arrived=True)
    first = decide(row(), lost, NOW, GIVE_UP, random.Random(1), repeats=2)
    assert (first.outcome.status, first.outcome.lost_answers) == ("pending", 1)
    assert first.platform_failing
    second = decide(row(lost_answers=1), lost, NOW, GIVE_UP, random.Random(1), repeats=2)
    assert (second.outcome.status, second.outcome.lost_answers) == ("pending", 2)
    third = decide(row(lost_answers=2), lost, NOW, GIVE_UP, random.Random(1), repeats=2)
    assert (third.outcome.status, third.outcome.lost_answers) == ("unconfirmed", 3)
    assert third.hold_chat_until is None
    assert "kolbot outbox retry --unconfirmed" in caplog.text
    never = decide(row(), lost, NOW, GIVE_UP, random.Random(1), repeats=0)
    assert never.outcome.status == "unconfirmed"


def test_what_proves_nothing_arrived_is_retried_however_often() -> None:
    refused = Transient("connection refused")
    decision = decide(row(attempts=30, lost_answers=1), refused, NOW, GIVE_UP, random.Random(1))
    assert decision.outcome.status == "pending"
    assert decision.outcome.lost_answers == 1  # the answer lost before still counts
    limited = decide(row(lost_answers=1), RateLimited(1.0), NOW, GIVE_UP, random.Random(1))
    assert limited.outcome.status == "pending"


def test_an_outage_ended_by_giving_up_is_unconfirmed_if_a_send_may_have_arrived() -> None:
    failing = row(attempts=40, failing_for=GIVE_UP, lost_answers=1)
    decision = decide(failing, Transient("502"), NOW, GIVE_UP, random.Random(1))
    assert decision.outcome.status == "unconfirmed"


def test_a_rate_limit_ends_the_outage_its_row_was_counting() -> None:
    """The platform answered: an outage measured from before would give the row up early."""
    failing = row(attempts=3, failing_for=timedelta(minutes=50))
    decision = decide(failing, RateLimited(2.0), NOW, GIVE_UP, random.Random(1))
    assert decision.outcome.failing_since is None
    assert not decision.platform_failing
