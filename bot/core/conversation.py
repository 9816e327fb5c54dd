"""The flow engine: a flow is named steps; each asks a question and parses the answer.

State lives in the Context's Conversation, which the dispatcher loads under a per-key lock and
saves after every event, so a step survives a restart and two users never share one.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.errors import Invalid

if TYPE_CHECKING:
    from bot.core.context import Context

HISTORY = "_history"
# A reviewed flow's open field edit: which field, and the draft as it was, for /back.
EDIT = "_edit"
REVIEW = "review"


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
        await self.revisit(ctx, history.pop())
        return True

    async def revisit(self, ctx: Context, step: str) -> None:
        """Ask ``step`` again on /back; flows whose answers must be undone first override it."""
        await self.go(ctx, step)


class ReviewedFlow(Flow):
    """A flow that ends at a review screen (step ``review``) whose Edit buttons reopen one
    field: its group of steps runs, then the flow returns to the review; /back at the group's
    first step abandons the edit and restores the draft as it was (a language chosen
    meanwhile with /language stays: it is not part of the edit)."""

    def __init__(
        self,
        name: str,
        steps: list[Step],
        field_groups: Mapping[str, tuple[str, ...]],
        button_prefixes: tuple[str, ...] = (),
    ) -> None:
        super().__init__(name, steps, button_prefixes)
        self.field_groups = field_groups

    def open_edit(self, ctx: Context, field: str) -> str:
        """Edit ``field`` from the review; returns the step that asks it first."""
        snapshot = copy.deepcopy({k: v for k, v in ctx.data.items() if k != EDIT})
        ctx.data[EDIT] = {"field": field, "snapshot": snapshot}
        return self.field_groups[field][0]

    async def field_done(self, ctx: Context, field: str) -> None:
        """An edited field's group is finished; the review is asked next."""

    async def advance(self, ctx: Context, answered: str, following: str) -> None:
        edit = ctx.data.get(EDIT)
        if edit is None:
            await super().advance(ctx, answered, following)
            return
        field = edit["field"]
        if following in self.field_groups[field]:
            if answered != REVIEW:
                ctx.data.setdefault(HISTORY, []).append(answered)
            await self.go(ctx, following)
            return
        ctx.data[HISTORY] = edit["snapshot"].get(HISTORY, [])
        del ctx.data[EDIT]
        await self.field_done(ctx, field)
        await self.go(ctx, REVIEW)

    async def back(self, ctx: Context) -> bool:
        assert ctx.conversation is not None
        edit = ctx.data.get(EDIT)
        history: list[str] = ctx.data.get(HISTORY, [])
        if edit is not None and len(history) <= len(edit["snapshot"].get(HISTORY, [])):
            restored = edit["snapshot"]
            if "lang" in ctx.data:
                restored["lang"] = ctx.data["lang"]
            ctx.conversation.data = restored
            await self.go(ctx, REVIEW)
            return True
        return await super().back(ctx)
