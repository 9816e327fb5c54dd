"""Routes an event to a command, a button prefix, the active flow, or the fallback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

from bot.core.callback import CallbackData
from bot.core.context import Context
from bot.core.conversation import Flow

Handler = Callable[[Context], Awaitable[None]]
FlowT = TypeVar("FlowT", bound=Flow)
# Operators and agency admins are roles beside membership: an admin may be a member too.
Audience = Literal["everyone", "guest", "member", "operator", "agency"]
STAFF: Final = frozenset({"operator", "agency"})


COMMAND_CONTEXT = "command name"


@dataclass(frozen=True, slots=True)
class Command:
    """``name`` is also a msgid in the ``command name`` context, for platforms whose command
    menus take localized names (Discord); ``description`` is a msgid too."""

    name: str
    description: str
    handler: Handler
    audience: Audience = "everyone"
    in_flow_only: bool = False
    # Sent in a group, it goes on in the sender's private chat: a platform that can open one
    # (Discord's DM) runs it there first, then answers in the group with what happened.
    opens_private: bool = False
    # Answered, but never offered in a list of commands.
    listed: bool = True
    # Works only on a platform with groups and channels to ask about (not the console).
    needs_groups: bool = False

    def offered_to(
        self,
        *,
        member: bool,
        in_flow: bool,
        roles: frozenset[str] = frozenset(),
        groups: bool = True,
    ) -> bool:
        """``roles``: the staff audiences the person belongs to (``operator``, ``agency``);
        ``groups``: whether their platform has groups."""
        if not self.listed or (self.needs_groups and not groups):
            return False
        if self.in_flow_only and not in_flow:
            return False
        if self.audience in STAFF:
            return self.audience in roles
        return self.audience == "everyone" or (self.audience == "member") == member


class Router:
    """One per handlers module; the app includes them all into one."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self.buttons: dict[str, Handler] = {}
        # Who owns each button prefix: a button handler, or a flow's steps.
        self.prefixes: dict[str, str] = {}
        self.flows: dict[str, Flow] = {}
        self.fallback: Handler | None = None
        # What to say when a person's screen starts empty ("opened" events).
        self.opened: Handler | None = None
        # What follows a chat to its new address ("moved" events).
        self.moved: Handler | None = None
        # Commands a platform answers itself (the console's /quit): (name, description msgid)
        # per platform name, so /help there lists them too.
        self.platform_commands: dict[str, tuple[tuple[str, str], ...]] = {}

    def command(
        self,
        name: str,
        description: str,
        *,
        audience: Audience = "everyone",
        in_flow_only: bool = False,
        opens_private: bool = False,
        listed: bool = True,
        needs_groups: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if name in self.commands:
                raise ValueError(f"command /{name} registered twice")
            self.commands[name] = Command(
                name,
                description,
                handler,
                audience,
                in_flow_only,
                opens_private,
                listed=listed,
                needs_groups=needs_groups,
            )
            return handler

        return register

    def button(self, data: type[CallbackData]) -> Callable[[Handler], Handler]:
        """Handle buttons of this CallbackData class wherever they are pressed."""

        def register(handler: Handler) -> Handler:
            self._claim(data.prefix, f"{handler.__module__}.{handler.__qualname__}")
            self.buttons[data.prefix] = handler
            return handler

        return register

    def flow(self, flow: FlowT) -> FlowT:
        for prefix in flow.button_prefixes:
            self._claim(prefix, f"the {flow.name} flow")
        self.flows[flow.name] = flow
        return flow

    def include(self, other: Router) -> None:
        """Take in another router's commands, buttons and flows; a clash fails at start."""
        for clash in self.commands.keys() & other.commands.keys():
            raise ValueError(f"command /{clash} registered twice")
        for prefix, owner in other.prefixes.items():
            self._claim(prefix, owner)
        self.commands.update(other.commands)
        self.buttons.update(other.buttons)
        self.flows.update(other.flows)
        self.fallback = other.fallback or self.fallback
        self.opened = other.opened or self.opened
        self.moved = other.moved or self.moved
        self.platform_commands.update(other.platform_commands)

    def _claim(self, prefix: str, owner: str) -> None:
        if prefix in self.prefixes and self.prefixes[prefix] != owner:
            raise ValueError(
                f"button prefix {prefix!r} claimed by {self.prefixes[prefix]} and {owner}"
            )
        self.prefixes[prefix] = owner

    async def dispatch(self, ctx: Context) -> None:
        incoming = ctx.incoming
        if incoming.kind in ("opened", "moved"):
            handler = self.opened if incoming.kind == "opened" else self.moved
            if handler is not None:
                await handler(ctx)
            return
        if incoming.kind == "command":
            command = self.commands.get(incoming.command or "")
            if command is not None:
                await command.handler(ctx)
                return
        elif incoming.kind == "button" and incoming.button_data:
            prefix = incoming.button_data.split(":", 1)[0]
            if prefix in self.buttons:
                await self.buttons[prefix](ctx)
                return
        flow = self.flows.get(ctx.conversation.flow) if ctx.conversation else None
        if flow is not None and incoming.kind != "command":
            await flow.handle(ctx)
        elif self.fallback is not None:
            await self.fallback(ctx)

    def visible_commands(
        self,
        *,
        member: bool,
        in_flow: bool,
        roles: frozenset[str] = frozenset(),
        groups: bool = True,
    ) -> list[Command]:
        return [
            c
            for c in self.commands.values()
            if c.offered_to(member=member, in_flow=in_flow, roles=roles, groups=groups)
        ]
