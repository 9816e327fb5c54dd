"""What the profile conversation's steps share: whether it is a member's edit or a signup.
The open field edit's marker is the flow engine's (``EDIT``)."""

from __future__ import annotations

from typing import Final

from bot.core.context import Context

# "signup" collects a new profile; "edit" changes a member's, saving each finished field.
MODE: Final = "mode"


def is_edit(ctx: Context) -> bool:
    """A member changing their profile, not a signup."""
    return ctx.data.get(MODE) == "edit"
