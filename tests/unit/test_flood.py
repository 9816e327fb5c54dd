"""The flood gate: judged by when messages were sent, counted only once stored."""

from __future__ import annotations

from bot.core.flood import FloodGate


def test_a_burst_past_the_limit_is_answered_once_then_dropped() -> None:
    gate = FloodGate(limit=3, window=10)
    batch = [("anna", 100.0 + n / 10) for n in range(6)] + [("ben", 100.0)]
    verdicts = gate.verdicts(batch)
    assert verdicts == ["keep", "keep", "keep", "warn", "drop", "drop", "keep"]
    gate.record([batch[n] for n in (0, 1, 2, 6)], ["anna"], now=101)
    # The warning was given: later excess in the same window is dropped without another.
    assert gate.verdicts([("anna", 102.0)]) == ["drop"]
    # Once the window has passed, the person is heard again, and a new flood is answered.
    assert gate.verdicts([("anna", 115.0)]) == ["keep"]
    gate.record([("anna", 115.0)], [], now=115)
    assert gate.verdicts([("anna", 115.1)] * 3) == ["keep", "keep", "warn"]


def test_a_batch_the_store_refused_is_not_counted() -> None:
    gate = FloodGate(limit=3, window=10)
    batch = [("anna", 100.0), ("anna", 100.5)]
    assert gate.verdicts(batch) == ["keep", "keep"]
    # Not recorded (the store failed, the platform sends the batch again)...
    assert gate.verdicts(batch) == ["keep", "keep"]
    gate.record(batch, [], now=101)
    # ...and counted once it was kept.
    assert gate.verdicts([("anna", 101.0), ("anna", 101.0)]) == ["keep", "warn"]


def test_messages_written_while_the_bot_was_down_are_no_flood() -> None:
    """Forty messages written over twenty minutes arrive together after a restart."""
    gate = FloodGate(limit=30, window=10)
    backlog = [("anna", 1000.0 + 30 * n) for n in range(40)]
    assert set(gate.verdicts(backlog)) == {"keep"}


def test_idle_senders_are_forgotten() -> None:
    gate = FloodGate(limit=3, window=10)
    gate.record([(f"user{n}", 100.0) for n in range(1000)], [], now=100)
    gate.record([("late", 200.0)], [], now=200)
    assert len(gate) == 1
