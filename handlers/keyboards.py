"""Small helpers that lay out buttons; layout is a hint, adapters may reflow it."""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.errors import Invalid
from bot.core.messages import Button
from bot.i18n import N_

Keyboard = tuple[tuple[Button, ...], ...]

STALE_BUTTON = N_("That button belongs to an earlier question. Please answer the one below.")
# "Options", not "buttons": the console shows numbered choices.
USE_BUTTONS = N_("Please choose one of the options below.")


def rows(buttons: Iterable[Button], per_row: int = 2) -> Keyboard:
    flat = list(buttons)
    return tuple(tuple(flat[i : i + per_row]) for i in range(0, len(flat), per_row))


def button_value(data: str | None, prefix: str) -> str:
    """The part after ``prefix:``; a button from another question is a stale press."""
    if data is None:
        raise Invalid(USE_BUTTONS)
    if not data.startswith(prefix + ":"):
        raise Invalid(STALE_BUTTON)
    return data[len(prefix) + 1 :]
