"""How many messages one person may send in a window, counted by when they sent them.

Counting happens in two steps: ``verdicts`` looks at a batch without changing anything, and
``record`` counts what the store then kept. So a batch the store refuses (the platform sends it
again) is not counted twice, and messages sent over an hour while the bot was down are not
taken for a flood when they arrive together: their own timestamps spread them out.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["keep", "warn", "drop"]


@dataclass(slots=True)
class _Sender:
    sent: deque[float] = field(default_factory=deque)  # kept messages' times, oldest first
    warned: bool = False


class FloodGate:
    def __init__(self, limit: int, window: float) -> None:
        self._limit = limit
        self._window = window
        # Least recently active first, so idle senders are forgotten from the front.
        self._senders: OrderedDict[str, _Sender] = OrderedDict()

    def verdicts(self, batch: Sequence[tuple[str, float]]) -> list[Verdict]:
        """For each (sender, sent at): keep it, answer it with one request to slow down, or
        drop it. Nothing is counted yet."""
        kept: dict[str, list[float]] = {}
        warned: set[str] = set()
        verdicts: list[Verdict] = []
        for sender, at in batch:
            state = self._senders.get(sender)
            earlier = [*(state.sent if state is not None else ()), *kept.get(sender, ())]
            recent = sum(1 for sent in earlier if at - self._window < sent <= at)
            if recent < self._limit:
                kept.setdefault(sender, []).append(at)
                verdicts.append("keep")
            elif sender in warned or (state is not None and state.warned):
                verdicts.append("drop")
            else:
                warned.add(sender)
                verdicts.append("warn")
        return verdicts

    def record(self, kept: Iterable[tuple[str, float]], warned: Iterable[str], now: float) -> None:
        """Count what the store kept, and whom it told to slow down."""
        for sender, at in kept:
            state = self._take(sender)
            state.sent.append(at)
            while state.sent and state.sent[0] <= now - self._window:
                state.sent.popleft()
            if len(state.sent) < self._limit:
                state.warned = False  # calm again: a new flood gets a new answer
            self._senders[sender] = state
        for sender in warned:
            state = self._take(sender)
            state.warned = True
            self._senders[sender] = state
        self._forget(now)

    def _take(self, sender: str) -> _Sender:
        """A sender's state, out of the order of activity (it goes back in at the end)."""
        state = self._senders.get(sender)
        if state is None:
            return _Sender()
        del self._senders[sender]
        return state

    def _forget(self, now: float) -> None:
        while self._senders:
            sender, state = next(iter(self._senders.items()))
            if state.sent and state.sent[-1] > now - self._window:
                return
            del self._senders[sender]

    def __len__(self) -> int:
        return len(self._senders)
