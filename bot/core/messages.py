"""What crosses the line between the core and a platform adapter.

Everything is a frozen pydantic model with plain fields, so a handler describes *what* to say
(text, buttons, an image) and each adapter decides *how* (inline keyboard or ui.View, HTML or
embed). Addresses round-trip through strings so jobs can store them and send days later.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Telegram's callback_data holds 64 bytes and Discord's custom_id 100 characters; adapters add a
# short prefix, so button data stays well under both.
MAX_BUTTON_DATA_BYTES = 48


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChatRef(_Frozen):
    """A place messages go to: ``telegram:123``, ``discord:dm:456``, ``console:local``."""

    platform: str = Field(pattern=r"^[a-z]+$")
    chat_id: str = Field(min_length=1)

    def __str__(self) -> str:
        return f"{self.platform}:{self.chat_id}"

    @classmethod
    def parse(cls, address: str) -> ChatRef:
        platform, sep, chat_id = address.partition(":")
        if not sep:
            raise ValueError(f"not a chat address: {address!r}")
        return cls(platform=platform, chat_id=chat_id)


class UserRef(_Frozen):
    """Who wrote: the platform's stable id plus hints the platform volunteers."""

    platform: str
    user_id: str = Field(min_length=1)
    display_name: str | None = None
    language_hint: str | None = None

    def __str__(self) -> str:
        return f"{self.platform}:{self.user_id}"


class Button(_Frozen):
    """A choice that comes back as ``data``, or a link that opens ``url``; never both."""

    label: str = Field(min_length=1, max_length=80)
    data: str | None = None
    url: str | None = Field(default=None, pattern=r"^https://")

    @field_validator("data")
    @classmethod
    def _fits_every_platform(cls, data: str | None) -> str | None:
        if data is not None and (
            not data or len(data.encode()) > MAX_BUTTON_DATA_BYTES or not data.isascii()
        ):
            raise ValueError(f"button data must be 1..{MAX_BUTTON_DATA_BYTES} ASCII bytes")
        return data

    @model_validator(mode="after")
    def _one_purpose(self) -> Button:
        if (self.data is None) == (self.url is None):
            raise ValueError("a button has either data or a url")
        return self


class Option(_Frozen):
    value: str = Field(min_length=1, max_length=24, pattern=r"^[a-z0-9_]+$")
    label: str
    selected: bool = False


class MultiSelect(_Frozen):
    """A pick-several question.

    Adapters without a native select render each option as a button whose data is
    ``{key}~{value}`` (a toggle); adapters with one (Discord) answer with ``{key}={v1},{v2}``
    (the whole selection). Handlers accept both.
    """

    key: str = Field(pattern=r"^[a-z]{1,8}$")
    options: tuple[Option, ...]
    placeholder: str = ""

    def toggle_data(self, option: Option) -> str:
        return f"{self.key}~{option.value}"


class Image(_Frozen):
    url: str | None = None
    path: str | None = None
    caption: str | None = None


class Outgoing(_Frozen):
    """One message to send; ``text`` is plain text, never markup: adapters escape it."""

    chat: ChatRef
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    multiselect: MultiSelect | None = None
    image: Image | None = None
    # Edit the message whose button was pressed instead of sending a new one.
    edit_message_id: str | None = None
    # Opaque token an adapter put on the Incoming this answers (e.g. a Discord interaction).
    reply_token: str | None = None
    # Visible only to the person who asked, where the platform can do that (Discord).
    private_reply: bool = False


# "opened": the person's screen starts empty (the console at every start), so nothing said
# before is in view; the core says where they are and asks the pending question again.
# "moved": the chat itself got a new address (a Telegram group that became a supergroup);
# ``moved_to`` is the new one.
EventKind = Literal["command", "text", "button", "opened", "moved"]


class Incoming(_Frozen):
    """One thing a person did: typed a command, typed text, pressed a button, or opened a new
    screen."""

    kind: EventKind
    chat: ChatRef
    user: UserRef
    is_private: bool = True
    text: str = ""
    command: str | None = None
    args: str = ""
    button_data: str | None = None
    message_id: str | None = None
    update_id: str | None = None
    reply_token: str | None = None
    # Where a group member can open a private chat with the bot (Telegram's deep link).
    private_chat_url: str | None = None
    # When the person sent it, if the platform says: a flood is judged by it, so messages
    # written while the bot was down are not taken for one when they arrive together.
    sent_at: datetime | None = None
    moved_to: ChatRef | None = None


# Half of a UTF-16 surrogate pair on its own: valid JSON (``"\\ud800"``), yet no text, so
# neither JSON nor SQLite can encode it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _repaired(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {key: _repaired(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_repaired(item) for item in value]
    return value


def encodable(update: Incoming) -> Incoming:
    """``update`` with each lone surrogate in its strings replaced by U+FFFD, as a UTF-8
    decoder replaces a bad byte: the person is still answered, and what they wrote is kept
    as near as it can be."""
    return Incoming.model_validate(_repaired(update.model_dump()))
