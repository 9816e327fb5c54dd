"""Every knob of a bench run in one place, with the sizes the goals are stated for."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Literal

Mode = Literal["polling", "webhook", "tutorial"]
MODES: Final[tuple[Mode, ...]] = ("polling", "webhook", "tutorial")
# Telegram's free and paid-broadcast limits, in messages a second; None is no limit at all.
CAPS: Final[tuple[int | None, ...]] = (None, 30, 1000)


@dataclass(frozen=True)
class Config:
    users: int = 2000  # ingress: users sending /start to kolbot, in each mode
    tutorial_users: int = 2000  # ingress: the same to the tutorial bot
    modes: tuple[Mode, ...] = MODES
    messages: int = 20_000  # dispatch: pending messages drained with no limit
    cap_seconds: float = 10.0  # dispatch: a capped run drains this many seconds' worth
    caps: tuple[int | None, ...] = CAPS
    people: int = 1_000_000  # memory: people in the database
    audience: int = 1_000_000  # publish: approved influencers a campaign is matched against
    idle_seconds: float = 5.0  # memory: how long the bot idles before RSS is read
    delay: float = 0.05  # the fake Bot API's answer time
    seed: int = 7
    # Run kolbot from this directory (a checkout of another commit) instead of the installed one.
    source: Path | None = None

    def quick(self) -> Config:
        """Minutes become seconds: sizes big enough to show the shape, not the steady state."""
        return replace(
            self,
            users=300,
            tutorial_users=60,
            messages=3000,
            cap_seconds=3.0,
            people=100_000,
            audience=100_000,
            idle_seconds=2.0,
        )
