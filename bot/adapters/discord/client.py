"""The discord.py Client, and components whose custom_id carries everything a press needs.

A button or select menu sent before a restart still works with a fresh client: the adapter
reads the press from the custom_id alone, so no view is kept in memory, by us or by discord.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

import discord
from discord import ui

# custom_id holds 100 characters; Button.data is at most 48 ASCII bytes, so these always fit.
BUTTON_ID = "kb:{data}"
SELECT_ID = "ks:{key}"
BUTTON_TEMPLATE = re.compile(r"kb:(?P<data>.+)", re.DOTALL)
SELECT_TEMPLATE = re.compile(r"ks:(?P<key>[a-z]{1,8})")


class Events(Protocol):
    """What the client hands over; the platform implements it."""

    async def setup(self, client: KolbotClient) -> None: ...

    def interaction_arrived(self, interaction: discord.Interaction[Any]) -> None: ...

    def message_arrived(self, message: discord.Message) -> None: ...


class KolbotClient(discord.Client):
    def __init__(self, events: Events, **options: Any) -> None:
        super().__init__(**options)
        self.events = events

    async def setup_hook(self) -> None:
        """Runs inside login(), before the gateway connects."""
        await self.events.setup(self)

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        """Hand interactions and messages over synchronously, as the gateway delivers them:
        handlers run as tasks, whose order nothing guarantees once they await."""
        super().dispatch(event, *args, **kwargs)
        if event == "interaction":
            self.events.interaction_arrived(args[0])
        elif event == "message":
            self.events.message_arrived(args[0])


class RoutedView(ui.View):
    """Components the adapter routes by custom_id. Not dispatchable, so discord.py does not
    keep every message's view in memory forever (it would for a ``timeout=None`` view)."""

    def is_dispatchable(self) -> bool:
        return False


def data_button(data: str, label: str) -> ui.Button[ui.View]:
    """A button whose custom_id carries the core's ``Button.data``."""
    return ui.Button(
        label=label, custom_id=BUTTON_ID.format(data=data), style=discord.ButtonStyle.primary
    )


def choice_select(
    key: str, options: list[discord.SelectOption], placeholder: str | None
) -> ui.Select[ui.View]:
    """A pick-several menu; a submission answers ``{key}={v1},{v2}``, the whole selection."""
    return ui.Select(
        custom_id=SELECT_ID.format(key=key),
        options=options,
        placeholder=placeholder,
        min_values=0,
        max_values=len(options),
    )


def pressed_data(custom_id: str, values: Sequence[str]) -> str | None:
    """The core's button data for a used component, or None for a custom_id this bot does not
    make (any more)."""
    if button := BUTTON_TEMPLATE.fullmatch(custom_id):
        return button["data"]
    if select := SELECT_TEMPLATE.fullmatch(custom_id):
        return f"{select['key']}={','.join(values)}"
    return None
