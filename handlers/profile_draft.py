"""What the profile conversation's steps share: the draft's markers and typed answers."""

from __future__ import annotations

from typing import Final

from bot.core.context import Context
from bot.core.errors import Invalid
from bot.i18n import N_

# The open field edit: which field, and the draft as it was, to restore on /back.
EDIT: Final = "_edit"
# "signup" collects a new profile; "edit" changes a member's, saving each finished field.
MODE: Final = "mode"


def typed_text(ctx: Context) -> str:
    """The typed answer; a press where typing is asked for is answered that it is."""
    if ctx.incoming.kind != "text":
        raise Invalid(N_("Please type your answer."))
    return ctx.incoming.text


def is_edit(ctx: Context) -> bool:
    """A member changing their profile, not a signup."""
    return ctx.data.get(MODE) == "edit"
