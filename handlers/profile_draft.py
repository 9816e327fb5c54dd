"""What the profile conversation's steps share: the draft's markers."""

from __future__ import annotations

from typing import Final

from bot.core.context import Context

# The open field edit: which field, and the draft as it was, to restore on /back.
EDIT: Final = "_edit"
# "signup" collects a new profile; "edit" changes a member's, saving each finished field.
MODE: Final = "mode"


def is_edit(ctx: Context) -> bool:
    """A member changing their profile, not a signup."""
    return ctx.data.get(MODE) == "edit"
