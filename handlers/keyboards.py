"""Buttons and answers: laying out buttons (a hint; adapters may reflow it), and reading what
was pressed or typed in answer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.core.context import Context
from bot.core.errors import Invalid
from bot.core.messages import Button
from bot.i18n import N_
from handlers.catalog import NICHES

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


def picked_topics(key: str, data: str, chosen: Sequence[str]) -> list[str]:
    """The topics chosen after a press on a topic picker whose MultiSelect key is ``key``: one
    toggled (``key~topic``) or the whole choice at once (``key=a,b``, a platform's select
    menu), in the catalog's order. Anything else is not a press on this picker."""
    picked = list(chosen)
    if data.startswith(f"{key}~") and data[len(key) + 1 :] in NICHES:
        value = data[len(key) + 1 :]
        picked = [n for n in picked if n != value] if value in picked else [*picked, value]
    elif data.startswith(f"{key}="):
        picked = [n for n in data[len(key) + 1 :].split(",") if n]
        if not set(picked) <= NICHES.keys():
            raise Invalid(USE_BUTTONS)
    else:
        raise Invalid(USE_BUTTONS)
    return [topic for topic in NICHES if topic in picked]


def typed_text(ctx: Context) -> str:
    """The typed answer; a press where typing is asked for is answered that it is."""
    if ctx.incoming.kind != "text":
        raise Invalid(N_("Please type your answer."))
    return ctx.incoming.text
