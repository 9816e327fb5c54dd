"""What a Telegram Update means to the core: an Incoming, or nothing kolbot should answer."""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from telegram import CallbackQuery, Chat, Message, Update, User

from bot.core.messages import ChatRef, EventKind, Incoming, UserRef

PLATFORM: Final = "telegram"
# Only these reach the bot, by polling or webhook; Telegram drops the rest for us.
ALLOWED_UPDATES: Final = ("message", "callback_query")
# Telegram command names are latin; ``/cmd@botname`` addresses one bot in a group.
_COMMAND: Final = re.compile(
    r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+(.*))?\Z", re.S
)


class CommandText(NamedTuple):
    name: str
    args: str
    addressee: str | None


def parse_command(text: str) -> CommandText | None:
    """``/Start@Kolbot signup`` → ("start", "signup", "Kolbot"); None when it is not a command."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    name, addressee, args = match.groups()
    return CommandText(name.lower(), (args or "").strip(), addressee)


def deep_link(bot_username: str) -> str:
    """Opens a private chat with the bot and sends ``/start signup`` there."""
    return f"https://t.me/{bot_username}?start=signup"


def chat_ref(chat: Chat) -> ChatRef:
    return ChatRef(platform=PLATFORM, chat_id=str(chat.id))


def _user_ref(user: User) -> UserRef:
    return UserRef(
        platform=PLATFORM,
        user_id=str(user.id),
        display_name=user.full_name or None,
        language_hint=user.language_code,
    )


def to_incoming(update: Update, bot_username: str) -> Incoming | None:
    """The core's view of an update; None for channel posts, other bots, another bot's
    commands, and chatter in groups (which kolbot only reads when addressed)."""
    if update.callback_query is not None:
        return _pressed(update, update.callback_query, bot_username)
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    return _written(update, message, message.from_user, bot_username)


def _written(update: Update, message: Message, user: User, bot_username: str) -> Incoming | None:
    private = message.chat.type == Chat.PRIVATE
    text = message.text or ""
    command = parse_command(text)
    kind: EventKind
    if command is not None:
        if (
            command.addressee is not None
            and command.addressee.casefold() != bot_username.casefold()
        ):
            return None
        kind, name, args = "command", command.name, command.args
    elif private:
        # A photo or sticker in private still gets an answer ("please type your answer").
        kind, name, args, text = "text", None, "", text or message.caption or ""
    else:
        return None
    return Incoming(
        kind=kind,
        chat=chat_ref(message.chat),
        user=_user_ref(user),
        is_private=private,
        text=text,
        command=name,
        args=args,
        update_id=str(update.update_id),
        private_chat_url=None if private else deep_link(bot_username),
        sent_at=message.date,
    )


def _pressed(update: Update, query: CallbackQuery, bot_username: str) -> Incoming | None:
    message = query.message
    if message is None or query.data is None:
        return None
    private = message.chat.type == Chat.PRIVATE
    return Incoming(
        kind="button",
        chat=chat_ref(message.chat),
        user=_user_ref(query.from_user),
        is_private=private,
        button_data=query.data,
        message_id=str(message.message_id),
        update_id=str(update.update_id),
        private_chat_url=None if private else deep_link(bot_username),
    )
