"""Outgoing → Discord messages: escaped text in 2000-character parts, embeds, components.

The core's text is plain, so everything a person typed is escaped here: markdown, masked links,
list and heading markers, and mentions (which are also never allowed to ping).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
from discord import ui

from bot.adapters.discord.client import RoutedView, choice_select, data_button
from bot.core.messages import Button, MultiSelect, Outgoing

MAX_CONTENT = 2000
MAX_EMBED_DESCRIPTION = 4096
MAX_FOOTER = 2048
MAX_ROWS = 5
MAX_PER_ROW = 5
MAX_OPTIONS = 25
MAX_OPTION_LABEL = 100
MAX_PLACEHOLDER = 150
NO_MENTIONS = discord.AllowedMentions.none()

# escape_markdown leaves numbered list markers alone; Discord renders "1. " at a line start.
_NUMBERED_ITEM = re.compile(r"^(\s*\d+)\.(?=\s)", re.MULTILINE)
_WORDS = re.compile(r"\S+\s*|\s+")


class RenderError(ValueError):
    """The message cannot be shown on Discord at all (too many buttons or options)."""


def escape(text: str) -> str:
    escaped = discord.utils.escape_markdown(text)
    escaped = _NUMBERED_ITEM.sub(r"\1\\.", escaped)
    return discord.utils.escape_mentions(escaped)


def split_text(text: str, limit: int = MAX_CONTENT) -> list[str]:
    """Escaped parts of at most ``limit`` characters, cut between lines, else words, else
    anywhere; each part is escaped whole, so no cut falls inside an escape."""
    parts: list[str] = []
    current = ""
    for piece in _pieces(text, limit):
        if len(escape(current + piece)) <= limit:
            current += piece
            continue
        if current:
            parts.append(escape(current))
        current = piece
    if current:
        parts.append(escape(current))
    return parts


def _pieces(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    for line in text.splitlines(keepends=True):
        if len(escape(line)) <= limit:
            pieces.append(line)
            continue
        for word in _WORDS.findall(line):
            if len(escape(word)) <= limit:
                pieces.append(word)
            else:
                # Escaping at most doubles a character, so half the limit always fits.
                step = limit // 2
                pieces.extend(word[i : i + step] for i in range(0, len(word), step))
    return pieces


def embed_for(message: Outgoing) -> discord.Embed | None:
    """An embed for a message with an image (offers, summaries); None for plain messages.

    The text goes in the description when it fits; otherwise :func:`render` sends it as
    ordinary content and the embed carries only the image.
    """
    image = message.image
    if image is None:
        return None
    description = escape(message.text)
    embed = discord.Embed(
        description=description if 0 < len(description) <= MAX_EMBED_DESCRIPTION else None
    )
    if image.url is not None:
        embed.set_image(url=image.url)
    elif image.path is not None:
        embed.set_image(url=f"attachment://{Path(image.path).name}")
    if image.caption:
        embed.set_footer(text=image.caption[:MAX_FOOTER])
    return embed


@dataclass(frozen=True, slots=True)
class Part:
    """One Discord message; only a message's last part carries its embed, file and view."""

    content: str | None
    embeds: list[discord.Embed]
    files: list[discord.File]
    view: ui.View | None


def render(message: Outgoing) -> list[Part]:
    """Must run inside the event loop (discord.py views need one); the caller closes the
    files, sent or not."""
    embed = embed_for(message)
    chunks: list[str | None]
    if embed is not None and (embed.description or not message.text):
        chunks = [None]
    else:
        chunks = [*split_text(message.text)] or [None]
    files = []
    if message.image is not None and message.image.url is None and message.image.path:
        path = Path(message.image.path)
        try:
            files = [discord.File(path, filename=path.name)]
        except OSError as error:
            raise RenderError(f"cannot read the image {path}: {error}") from error
    parts = [Part(chunk, [], [], None) for chunk in chunks[:-1]]
    parts.append(Part(chunks[-1], [embed] if embed else [], files, view_for(message)))
    return parts


def view_for(message: Outgoing) -> ui.View | None:
    """Components for the buttons and the select; the core's row layout is kept when it fits."""
    rows: list[list[ui.Item[Any]]] = []
    if message.multiselect is not None:
        rows.append([_select(message.multiselect)])
    layout = [list(row) for row in message.buttons if row]
    free_rows = MAX_ROWS - len(rows)
    if len(layout) > free_rows or any(len(row) > MAX_PER_ROW for row in layout):
        flat = [button for row in layout for button in row]
        layout = [flat[i : i + MAX_PER_ROW] for i in range(0, len(flat), MAX_PER_ROW)]
    if len(layout) > free_rows:
        raise RenderError(f"{sum(map(len, layout))} buttons do not fit in {free_rows} rows")
    rows.extend([_button(button) for button in row] for row in layout)
    if not rows:
        return None
    view = RoutedView(timeout=None)
    for index, row in enumerate(rows):
        for item in row:
            item.row = index
            view.add_item(item)
    return view


def _button(button: Button) -> ui.Item[Any]:
    if button.url is not None:
        return ui.Button(label=button.label, url=button.url, style=discord.ButtonStyle.link)
    assert button.data is not None
    return data_button(button.data, button.label)


def _select(multiselect: MultiSelect) -> ui.Select[ui.View]:
    if not 0 < len(multiselect.options) <= MAX_OPTIONS:
        raise RenderError(f"a select menu holds 1 to {MAX_OPTIONS} options")
    values = [option.value for option in multiselect.options]
    if len(set(values)) != len(values):
        raise RenderError(f"a select menu's option values must differ: {values}")
    options = [
        discord.SelectOption(
            label=option.label[:MAX_OPTION_LABEL], value=option.value, default=option.selected
        )
        for option in multiselect.options
    ]
    return choice_select(
        multiselect.key, options, multiselect.placeholder[:MAX_PLACEHOLDER] or None
    )
