"""The discord.py Client and the persistent components it routes to the platform.

Buttons and select menus are ``DynamicItem``s: everything a press needs is in its custom_id, so a
button sent before a restart is routed by a fresh client with no view kept in memory.
"""

from __future__ import annotations

import re
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

    async def on_press(self, interaction: discord.Interaction[Any], data: str) -> None: ...

    async def on_message(self, message: discord.Message) -> None: ...


class KolbotClient(discord.Client):
    def __init__(self, events: Events, **options: Any) -> None:
        super().__init__(**options)
        self.events = events

    async def setup_hook(self) -> None:
        """Runs inside login(), before the gateway: register components, then sync commands."""
        self.add_dynamic_items(DataButton, ChoiceSelect)
        await self.events.setup(self)

    async def on_message(self, message: discord.Message) -> None:
        await self.events.on_message(message)


def _events(interaction: discord.Interaction[Any]) -> Events:
    client = interaction.client
    assert isinstance(client, KolbotClient), "components are registered on a KolbotClient"
    return client.events


class DataButton(ui.DynamicItem[ui.Button[ui.View]], template=BUTTON_TEMPLATE):
    """A button whose custom_id carries the core's ``Button.data``."""

    def __init__(self, data: str, label: str, *, row: int | None = None) -> None:
        button: ui.Button[ui.View] = ui.Button(
            label=label, custom_id=BUTTON_ID.format(data=data), style=discord.ButtonStyle.primary
        )
        super().__init__(button, row=row)
        self.data = data

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> DataButton:
        return cls(match["data"], getattr(item, "label", None) or match["data"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _events(interaction).on_press(interaction, self.data)


class ChoiceSelect(ui.DynamicItem[ui.Select[ui.View]], template=SELECT_TEMPLATE):
    """A pick-several menu; a submission answers ``{key}={v1},{v2}``, the whole selection."""

    def __init__(
        self,
        key: str,
        options: list[discord.SelectOption],
        placeholder: str | None = None,
        *,
        row: int | None = None,
    ) -> None:
        select: ui.Select[ui.View] = ui.Select(
            custom_id=SELECT_ID.format(key=key),
            options=options,
            placeholder=placeholder,
            min_values=0,
            max_values=len(options),
        )
        super().__init__(select, row=row)
        self.key = key

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ChoiceSelect:
        assert isinstance(item, ui.Select)
        return cls(match["key"], item.options, item.placeholder)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        values = ",".join(self.item.values)
        await _events(interaction).on_press(interaction, f"{self.key}={values}")
