"""What a Telegram Update means to the core: an Incoming, or nothing kolbot should answer.

Updates are read from the Bot API's JSON as it arrives, not through PTB's ``Update.de_json``:
only a dozen fields matter here, and building PTB's whole object tree for each one cost more
CPU than storing the update. A field missing or of the wrong type makes the update unreadable
(TypeError), as it does in PTB.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from bot.core.messages import ChatRef, EventKind, Incoming, UserRef

Json = dict[str, Any]

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


def chat_ref(chat: Json) -> ChatRef:
    return ChatRef(platform=PLATFORM, chat_id=str(_int(_field(chat, "id"))))


def _field(obj: object, name: str) -> Any:
    if not isinstance(obj, dict) or name not in obj:
        raise TypeError(f"no {name}")
    return obj[name]


def _object(value: object) -> Json | None:
    if value is not None and not isinstance(value, dict):
        raise TypeError("not an object")
    return value


def _is_private(chat: Json) -> bool:
    kind = _field(chat, "type")
    if not isinstance(kind, str):
        raise TypeError("a chat type is not a string")
    return kind == "private"


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("an id is not an integer")
    return value


def _str(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError("a text field is not a string")
    return value


def _user_ref(user: Json) -> UserRef:
    """As PTB's ``User.full_name``: the first name, then the last one if there is one."""
    first, last = _str(_field(user, "first_name")) or "", _str(user.get("last_name"))
    name = f"{first} {last}" if last else first
    return UserRef(
        platform=PLATFORM,
        user_id=str(_int(_field(user, "id"))),
        display_name=name or None,
        language_hint=_str(user.get("language_code")),
    )


def callback_query_id(update: Json) -> str | None:
    """The id of the button press an update carries, if it is one: answered at once."""
    query = _object(update.get("callback_query"))
    return None if query is None else _str(_field(query, "id"))


def to_incoming(update: Json, bot_username: str) -> Incoming | None:
    """The core's view of an update (Bot API JSON); None for channel posts, other bots,
    another bot's commands, and chatter in groups (which kolbot only reads when addressed)."""
    query = _object(update.get("callback_query"))
    if query is not None:
        return _pressed(update, query, bot_username)
    message = _object(update.get("message"))
    if message is None:
        return None
    private = _is_private(_field(message, "chat"))
    user = _object(message.get("from"))
    if user is None:
        return None
    if "migrate_to_chat_id" in message or "migrate_from_chat_id" in message:
        return _moved(update, message, user)
    if user.get("is_bot"):
        return None
    return _written(update, message, user, private, bot_username)


def _moved(update: Json, message: Json, user: Json) -> Incoming:
    """A group that became a supergroup: Telegram says so in both, the old one naming the
    new (``migrate_to_chat_id``) and the new one the old (``migrate_from_chat_id``)."""
    here = str(_int(_field(_field(message, "chat"), "id")))
    if "migrate_to_chat_id" in message:
        old, new = here, str(_int(message["migrate_to_chat_id"]))
    else:
        old, new = str(_int(message["migrate_from_chat_id"])), here
    return Incoming(
        kind="moved",
        chat=ChatRef(platform=PLATFORM, chat_id=old),
        user=_user_ref(user),
        is_private=False,
        update_id=str(_int(_field(update, "update_id"))),
        moved_to=ChatRef(platform=PLATFORM, chat_id=new),
    )


def _written(
    update: Json, message: Json, user: Json, private: bool, bot_username: str
) -> Incoming | None:
    text = _str(message.get("text")) or ""
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
        kind, name, args, text = "text", None, "", text or _str(message.get("caption")) or ""
    else:
        return None
    return Incoming(
        kind=kind,
        chat=chat_ref(message["chat"]),
        user=_user_ref(user),
        is_private=private,
        text=text,
        command=name,
        args=args,
        update_id=str(_int(_field(update, "update_id"))),
        private_chat_url=None if private else deep_link(bot_username),
        sent_at=datetime.fromtimestamp(_int(_field(message, "date")), UTC),
    )


def _pressed(update: Json, query: Json, bot_username: str) -> Incoming | None:
    message = _object(query.get("message"))
    data = _str(query.get("data"))
    if message is None or data is None:
        return None
    chat = _field(message, "chat")
    private = _is_private(chat)
    return Incoming(
        kind="button",
        chat=chat_ref(chat),
        user=_user_ref(_field(query, "from")),
        is_private=private,
        button_data=data,
        message_id=str(_int(_field(message, "message_id"))),
        update_id=str(_int(_field(update, "update_id"))),
        private_chat_url=None if private else deep_link(bot_username),
    )
