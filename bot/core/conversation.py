"""The flow engine: a flow is named steps; each asks a question and parses the answer.

State lives in the Context's Conversation, which the dispatcher loads under a per-key lock and
saves after every event, so a step survives a restart and two users never share one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.errors import Invalid

if TYPE_CHECKING:
    from bot.core.context import Context

HISTORY = "_history"


@dataclass(frozen=True, slots=True)
class Step:
    """``answer`` returns the next step's name, or None when it has replied and stays put."""

    name: str
    ask: Callable[[Context], Awaitable[None]]
    answer: Callable[[Context], Awaitable[str | None]]


class Flow:
    # Whether /back and /cancel act on this flow (the profile flow has its own handling).
    navigable = False

    def __init__(
        self, name: str, steps: list[Step], button_prefixes: tuple[str, ...] = ()
    ) -> None:
        """``button_prefixes``: the button data prefixes the steps' questions use; the router
        keeps any other router from claiming them."""
        self.name = name
        self.steps = {step.name: step for step in steps}
        self.button_prefixes = button_prefixes

    async def begin(self, ctx: Context, step: str, data: dict[str, object] | None = None) -> None:
        ctx.start(self.name, step, dict(data or {}))
        await self.steps[step].ask(ctx)

    async def handle(self, ctx: Context) -> None:
        conversation = ctx.conversation
        assert conversation is not None
        step = self.steps[conversation.step]
        try:
            following = await step.answer(ctx)
        except Invalid as error:
            params = {
                name: ctx.t.number(value) if type(value) is int else value
                for name, value in error.params.items()
            }
            ctx.reply(ctx._(error.message, **params))
            await step.ask(ctx)
            return
        if following is None or ctx.conversation is None:
            return
        await self.advance(ctx, step.name, following)

    async def advance(self, ctx: Context, answered: str, following: str) -> None:
        """Move on from an answered step; flows override this to reroute (edit mode)."""
        ctx.data.setdefault(HISTORY, []).append(answered)
        await self.go(ctx, following)

    async def go(self, ctx: Context, step: str) -> None:
        assert ctx.conversation is not None
        ctx.conversation.step = step
        await self.steps[step].ask(ctx)

    async def cancel(self, ctx: Context) -> bool:
        """Stop at the person's /cancel and say so; False for a flow that cannot be stopped
        that way (it has buttons of its own for it)."""
        return False

    async def back(self, ctx: Context) -> bool:
        """Re-ask the previous step; False when already at the first one."""
        history: list[str] = ctx.data.get(HISTORY, [])
        if not history:
            return False
        await self.go(ctx, history.pop())
        return True
