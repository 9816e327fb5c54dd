"""A fake Telegram Bot API on 127.0.0.1 that checks what it receives as Telegram would.

python-telegram-bot is pointed at it by ``base_url``. It plays the users too: tests push
messages and button presses (by label, from the bot's latest message) into the getUpdates
queue, or build updates to post to a webhook, and read what the bot sent to each chat. It can
answer 429, 403, 5xx or slowly, per method and chat, be down (5xx, or refusing connections)
for a while, fail after doing what was asked (a 5xx to a message it posted), block the bot
in a chat until the user writes, and move a group to a supergroup; it records every call with
its arrival time, every message with the time it was accepted (telling listeners), and how
often and when getUpdates returned each update. Whatever Telegram would not accept from a
well-behaved bot (an unknown method, a bad parameter, a send inside a flood wait it was told
of, a button answered late) is appended to ``errors``: tests require it empty.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Final

import aiohttp
from aiohttp import web

BOT_ID: Final = 7_000_001
TOKEN: Final = f"{BOT_ID}:AAH-fake-token-for-tests_0123456789"
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"

TEXT_LIMIT: Final = 4096
CAPTION_LIMIT: Final = 1024
CALLBACK_DATA_LIMIT: Final = 64
# Methods that put something in a chat: the ones flood control applies to.
SEND_METHODS: Final = frozenset(
    {"sendMessage", "sendPhoto", "editMessageText", "editMessageCaption", "editMessageReplyMarkup"}
)
# A press must be answered within this long of reaching the bot, or the user stares at a spinner.
ANSWER_DEADLINE: Final = 1.0
# A request arriving this soon after a 429 was answered may have crossed the answer on the wire.
CROSSING: Final = 0.005
# 429s for this many chats in one flood tell the bot it is not about one chat.
FLOOD_CHATS: Final = 2
DEFAULT_UPDATE_TYPES: Final = frozenset(
    [
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "my_chat_member",
        "poll",
        "poll_answer",
    ]
)
ALLOWED_TAGS: Final = frozenset(
    [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "tg-spoiler",
        "span",
        "blockquote",
        "tg-emoji",
    ]
)
NAMED_ENTITIES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID: Final = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
BLOCKED: Final = "Forbidden: bot was blocked by the user"
# What getChatMember says of an administrator besides its status: what it may do.
ADMIN_RIGHTS: Final = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_post_messages": True,
    "can_edit_messages": True,
    "can_pin_messages": True,
}
UPGRADED: Final = "Bad Request: group chat was upgraded to a supergroup chat"
_ENTITY: Final = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]+);")
_TAG: Final = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?>")
_COMMAND_NAME: Final = re.compile(r"[a-z0-9_]{1,32}")
_SECRET: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")


class Disconnect(Exception):
    """Close the connection without answering, as a dying proxy or network does."""


class ApiError(Exception):
    """An error answer: HTTP status, Telegram's description, optional parameters."""

    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# HTML as Telegram parses it ----------------------------------------------------------------


class _TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        offset = self.getpos()[1]
        if tag not in ALLOWED_TAGS:
            raise _parse_error(f'Unsupported start tag "{tag}" at byte offset {offset}')
        values = dict(attrs)
        if tag == "span" and values.get("class") != "tg-spoiler":
            raise _parse_error(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if tag == "a" and not values.get("href"):
            raise _parse_error(f'Tag "a" must have attribute "href" at byte offset {offset}')
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise _parse_error(f'Unsupported start tag "{tag}/"')

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise _parse_error(f'Unmatched end tag at byte offset {self.getpos()[1]}, "{tag}"')
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in NAMED_ENTITIES:
            raise _parse_error(f'Unsupported HTML entity "&{name};"')
        self.text.append(NAMED_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        self.text.append(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))

    def handle_comment(self, data: str) -> None:
        raise _parse_error("Comments are not supported")

    def handle_decl(self, decl: str) -> None:
        raise _parse_error("Declarations are not supported")

    def handle_pi(self, data: str) -> None:
        raise _parse_error("Processing instructions are not supported")


def _parse_error(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {detail}")


def parse_html(raw: str) -> str:
    """The text a user sees for ``raw`` in HTML parse mode, or the ApiError Telegram returns."""
    for index, char in enumerate(raw):
        if char == "&" and not _ENTITY.match(raw, index):
            raise _parse_error(f"Can't find end of the entity starting at byte offset {index}")
        if char == "<" and not _TAG.match(raw, index):
            raise _parse_error(f"Unexpected end of name token at byte offset {index}")
    parser = _TelegramHTML()
    parser.feed(raw)
    parser.close()
    if parser.open:
        raise _parse_error(f'Can\'t find end tag corresponding to start tag "{parser.open[-1]}"')
    return "".join(parser.text)


# The world: users, chats, what the bot sent ------------------------------------------------


@dataclass
class FakeUser:
    id: int
    first_name: str
    last_name: str | None = None
    language_code: str | None = None
    username: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "language_code", "username"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass
class Call:
    """One request to the fake, as it arrived and as it was answered."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    at: float
    done_at: float = 0.0
    status: int = 0
    description: str = ""
    retry_after: float | None = None  # what a 429 told the bot

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None and str(value).lstrip("-").isdigit() else None


@dataclass
class SentMessage:
    """A message the bot sent, as it stands now (edits applied)."""

    chat: dict[str, Any]
    message_id: int
    date: int
    text: str
    raw: str
    parse_mode: str | None
    keyboard: list[list[dict[str, Any]]]
    photo: str | None = None
    photo_bytes: bytes | None = None
    edits: int = 0
    sent_at: float = 0.0  # time.monotonic() when the fake accepted it

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    def buttons(self) -> list[dict[str, Any]]:
        return [button for row in self.keyboard for button in row]

    def labels(self) -> list[str]:
        return [button["text"] for button in self.buttons()]

    def url(self, label: str) -> str | None:
        return next((b.get("url") for b in self.buttons() if b["text"] == label), None)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "date": self.date,
            "chat": self.chat,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Kolbot"},
        }
        if self.photo is not None:
            data["photo"] = [
                {
                    "file_id": f"photo-{self.message_id}",
                    "file_unique_id": f"u{self.message_id}",
                    "width": 640,
                    "height": 480,
                }
            ]
            if self.text:
                data["caption"] = self.text
        else:
            data["text"] = self.text
        if self.keyboard:
            data["reply_markup"] = {"inline_keyboard": self.keyboard}
        return data


@dataclass
class Fault:
    """An injected answer for calls to ``method`` (any if None) about ``chat_id`` (any if None)."""

    method: str | None
    chat_id: int | None
    status: int = 0
    description: str = ""
    retry_after: float | None = None
    delay: float = 0.0
    remaining: int | None = 1
    disconnect: bool = False
    after: int = 0  # matching calls to let through first
    done: bool = False  # the call is carried out, then answered with the error
    until: float | None = None  # time.monotonic() at which it ends (an outage), if any

    def matches(self, method: str, chat_id: int | None) -> bool:
        return (self.method is None or self.method == method) and (
            self.chat_id is None or self.chat_id == chat_id
        )


@dataclass
class Flood:
    """A flood wait: sends it covers get 429 until ``until``. ``told`` is when each chat was
    answered a 429 of it: a send after that, to the chat or (once ``FLOOD_CHATS`` chats were
    told, for an overall flood) to any chat, ignored what the bot was told."""

    until: float
    whole_seconds: bool
    told: dict[int | None, float]

    def retry_after(self, now: float) -> float:
        """What is left, rounded up: whole seconds as Telegram gives them, unless the test
        asked for fractions to stay fast."""
        left = self.until - now
        return math.ceil(left) if self.whole_seconds else math.ceil(left * 100) / 100


Method = Callable[[dict[str, Any], dict[str, bytes]], Awaitable[Any]]


class FakeTelegram:
    def __init__(self, username: str = "kolbot_test_bot", token: str = TOKEN) -> None:
        self.username = username
        self.token = token
        self.calls: list[Call] = []
        self.errors: list[str] = []
        self.webhook: dict[str, Any] | None = None
        # (scope type, language code or "") → the commands set for it
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._updates: dict[int, dict[str, Any]] = {}
        # update id → how many times getUpdates has returned it
        self.deliveries: Counter[int] = Counter()
        # update id → time.monotonic() when getUpdates first returned it
        self.fetched_at: dict[int, float] = {}
        self._listeners: list[Callable[[SentMessage], None]] = []
        self._users: dict[int, FakeUser] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._members: dict[int, set[int]] = {}
        # chat → its administrators (the first one its creator); BOT_ID when the bot is one
        self._admins: dict[int, list[int]] = {}
        self._sent: dict[int, dict[int, SentMessage]] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._queries: dict[str, float | None] = {}  # issued query id → answered at
        self._handed: dict[str, float] = {}  # query id → when the bot could first see the press
        self._queue: list[dict[str, Any]] = []
        # update id → its JSON as getUpdates sends it, for text json.dumps cannot make
        self._verbatim: dict[int, str] = {}
        self._confirmed = 0  # every update below this id is confirmed
        self._allowed = DEFAULT_UPDATE_TYPES
        self._poller = 0
        self._changed = asyncio.Event()
        self._closing = False
        self._faults: list[Fault] = []
        self._floods: dict[int | None, Flood] = {}  # chat (None: every chat) → its flood
        self._blocked: dict[int, int] = {}  # chat → sends refused since the user blocked the bot
        self._upgraded: dict[int, tuple[int, int]] = {}  # group → (supergroup, sends refused)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.port = 0
        self._methods: dict[str, Method] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "sendMessage": self._send_message,
                "sendPhoto": self._send_photo,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "answerCallbackQuery": self._answer_callback_query,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "getChatMember": self._get_chat_member,
                "getChat": self._get_chat,
            }.items()
        }

    # Lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await self._site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        self._closing = True
        self._wake()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """What the bot's ``telegram_base_url`` should be."""
        return f"http://127.0.0.1:{self.port}/bot"

    # The world -----------------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        language_code: str | None = "en",
        username: str | None = None,
    ) -> FakeUser:
        """A user and their private chat with the bot (same id, as on Telegram)."""
        user = FakeUser(user_id, first_name, last_name, language_code, username)
        self._users[user_id] = user
        chat = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            chat["last_name"] = last_name
        self._chats[user_id] = chat
        return user

    def add_group(
        self,
        chat_id: int,
        title: str,
        members: list[int],
        *,
        admins: list[int] | None = None,
        username: str | None = None,
    ) -> None:
        """A group (a supergroup when its id starts with -100); ``admins`` administer it,
        the first as its creator, and BOT_ID among them makes the bot one."""
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        self._chats[chat_id] = {"id": chat_id, "type": kind, "title": title}
        if username is not None:
            self._chats[chat_id]["username"] = username
        self._members[chat_id] = set(members) | set(admins or ())
        self._admins[chat_id] = list(admins or ())

    def add_channel(self, chat_id: int, title: str, username: str, admins: list[int]) -> None:
        """A public channel, @``username``; nobody but its ``admins`` posts there."""
        self._chats[chat_id] = {
            "id": chat_id,
            "type": "channel",
            "title": title,
            "username": username,
        }
        self._members[chat_id] = set(admins)
        self._admins[chat_id] = list(admins)

    def migrate(self, chat_id: int, supergroup_id: int, by: int) -> None:
        """The group becomes a supergroup: Telegram posts the news in both chats."""
        self.upgrade(chat_id, supergroup_id)
        self._admins[supergroup_id] = list(self._admins.get(chat_id, ()))
        for here, field, there in (
            (chat_id, "migrate_to_chat_id", supergroup_id),
            (supergroup_id, "migrate_from_chat_id", chat_id),
        ):
            message = {
                "message_id": self._next_message_id(here),
                "date": int(time.time()),
                "chat": self._chats[here],
                "from": self._users[by].as_json(),
                field: there,
            }
            self.push({"update_id": next(self._update_ids), "message": message})

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: sends get 403 until they write to it again. A second send
        before that is an error: the first 403 said so."""
        self._blocked[chat_id] = 0

    def upgrade(self, chat_id: int, supergroup_id: int) -> None:
        """A group becomes a supergroup with a new id; sends to the old id are refused with the
        new one, and a second send there is an error: the first refusal said where it went."""
        chat = self._chats[chat_id]
        self.add_group(supergroup_id, chat["title"], sorted(self._members.get(chat_id, ())))
        self._upgraded[chat_id] = (supergroup_id, 0)

    def push_verbatim(self, json_text: str) -> int:
        """Queue an update whose JSON is ``json_text`` with ``{id}`` for its update id: for
        what a relay might send that a JSON encoder would never write."""
        update_id = next(self._update_ids)
        self._verbatim[update_id] = json_text.replace("{id}", str(update_id))
        return self.push({"update_id": update_id, "message": {}})

    def push_raw(self, update: dict[str, Any]) -> int:
        """Queue an update as given, with the next update id: for shapes a user cannot make."""
        return self.push({"update_id": next(self._update_ids), **update})

    # Users acting ------------------------------------------------------------------------

    def text_update(self, chat_id: int, user_id: int, text: str) -> dict[str, Any]:
        """An update for a user typing ``text`` in a chat; not queued (see ``say``)."""
        self._blocked.pop(chat_id, None)  # writing to the bot unblocks it
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chats[chat_id],
            "from": self._users[user_id].as_json(),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_length(command)}
            ]
        return {"update_id": next(self._update_ids), "message": message}

    def press_update(
        self, chat_id: int, user_id: int, label: str | None = None, *, data: str | None = None
    ) -> dict[str, Any]:
        """An update for a user pressing a button (by label or data) on the latest message
        in the chat that has it; not queued (see ``press``)."""
        self._blocked.pop(chat_id, None)  # pressing writes to the bot too
        for sent in sorted(self._sent.get(chat_id, {}).values(), key=lambda m: -m.message_id):
            for button in sent.buttons():
                if "callback_data" in button and (
                    button["text"] == label or button["callback_data"] == data
                ):
                    query_id = str(next(self._query_ids))
                    self._queries[query_id] = None
                    self._handed[query_id] = time.monotonic()
                    query = {
                        "id": query_id,
                        "from": self._users[user_id].as_json(),
                        "chat_instance": f"instance{chat_id}",
                        "message": sent.as_json(),
                        "data": button["callback_data"],
                    }
                    return {"update_id": next(self._update_ids), "callback_query": query}
        latest = self.last(chat_id) if self._sent.get(chat_id) else None
        raise AssertionError(
            f"no button {label or data!r} in chat {chat_id}; latest message: "
            f"{latest.text if latest else None!r} with {latest.labels() if latest else []}"
        )

    def push(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates, as Telegram does when a user acts."""
        self._updates[int(update["update_id"])] = update
        self._queue.append(update)
        self._wake()
        return int(update["update_id"])

    def say(self, chat_id: int, user_id: int, text: str) -> int:
        return self.push(self.text_update(chat_id, user_id, text))

    def press(
        self, chat_id: int, user_id: int, label: str | None = None, *, data: str | None = None
    ) -> int:
        return self.push(self.press_update(chat_id, user_id, label, data=data))

    def redeliver(self, update_id: int) -> None:
        """Deliver an update again under the same id, as Telegram does when the bot stopped
        before confirming it (the next poll from offset 0 gets it once more)."""
        self._confirmed = min(self._confirmed, update_id)
        self._queue = sorted(
            [*self._queue, self._updates[update_id]], key=lambda u: u["update_id"]
        )
        self._wake()

    def update(self, update_id: int) -> dict[str, Any]:
        """An update as it was queued."""
        return self._updates[update_id]

    def confirmed(self, update_id: int) -> bool:
        """True once the bot asked for updates past this one: it has taken it."""
        return update_id < self._confirmed

    def query_answered(self, query_id: str) -> bool:
        return self._queries.get(query_id) is not None

    # Faults ------------------------------------------------------------------------------

    def fail(
        self,
        method: str | None,
        *,
        chat_id: int | None = None,
        status: int = 400,
        description: str = "",
        retry_after: float | None = None,
        times: int | None = 1,
        after: int = 0,
        done: bool = False,
    ) -> None:
        """Answer ``times`` matching calls (None: all) with an error, once ``after`` more
        have gone through. A 429 to a send starts a flood wait for its chat (for every chat
        when ``chat_id`` is None). Telegram's retry_after is whole seconds; a fraction here
        keeps a test fast. ``done``: carry the call out first (a server that failed after
        posting the message)."""
        if not description:
            description = {
                429: f"Too Many Requests: retry after {retry_after}",
                403: "Forbidden: bot was blocked by the user",
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(status, "Bad Request")
        fault = Fault(
            method,
            chat_id,
            status,
            description,
            retry_after,
            remaining=times,
            after=after,
            done=done,
        )
        self._faults.append(fault)

    def disconnect(
        self, method: str | None, *, chat_id: int | None = None, times: int | None = 1
    ) -> None:
        """Drop the connection of the next ``times`` matching calls without an answer."""
        self._faults.append(Fault(method, chat_id, remaining=times, disconnect=True))

    def slow(
        self, method: str | None, *, chat_id: int | None = None, delay: float, times: int | None
    ) -> None:
        """Hold the next ``times`` matching calls (None: all) for ``delay`` seconds."""
        self._faults.append(Fault(method, chat_id, delay=delay, remaining=times))

    def outage(
        self,
        method: str | None,
        *,
        seconds: float,
        status: int = 502,
        chat_id: int | None = None,
        description: str = "",
    ) -> float:
        """Answer every matching call with ``status`` (a 5xx: the Bot API is down) for the
        next ``seconds``; returns the time.monotonic() at which the outage ends."""
        until = time.monotonic() + seconds
        if not description:
            description = {500: "Internal Server Error", 503: "Service Unavailable"}.get(
                status, "Bad Gateway"
            )
        self._faults.append(
            Fault(method, chat_id, status, description, remaining=None, until=until)
        )
        return until

    def clear_faults(self) -> None:
        self._faults.clear()

    async def refuse_connections(self) -> None:
        """Stop listening and drop every open connection: each request the bot makes from
        now on is refused, as by a host whose Bot API is down, until ``listen_again``."""
        assert self._runner is not None
        assert self._site is not None
        await self._site.stop()
        self._site = None
        server = self._runner.server
        assert server is not None
        for connection in list(server.connections):
            connection.force_close()

    async def listen_again(self) -> None:
        """Take connections on the same port again, after ``refuse_connections``."""
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await self._site.start()

    # Reading -----------------------------------------------------------------------------

    def on_message(self, listener: Callable[[SentMessage], None]) -> None:
        """Call ``listener`` with every message the fake accepts from the bot (sendMessage,
        sendPhoto), as it is accepted: tests play users who answer what they are asked."""
        self._listeners.append(listener)

    def calls_to(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or c.chat_id == chat_id)
        ]

    def messages(self, chat_id: int) -> list[SentMessage]:
        """What the bot sent to a chat, oldest first, as it stands now."""
        return sorted(self._sent.get(chat_id, {}).values(), key=lambda m: m.message_id)

    def last(self, chat_id: int) -> SentMessage:
        messages = self.messages(chat_id)
        assert messages, f"the bot sent nothing to chat {chat_id}"
        return messages[-1]

    def activity(self, chat_id: int) -> int:
        """How many messages the bot has sent or edited in a chat so far."""
        return sum(
            1 for c in self.calls if c.ok and c.method in SEND_METHODS and c.chat_id == chat_id
        )

    # Serving -----------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        call = Call(request.match_info["method"], {}, {}, time.monotonic())
        self.calls.append(call)
        try:
            call.params, call.files = await self._read(request)
            result = await self._answer(request.match_info["token"], call)
        except Disconnect:
            call.status, call.done_at = -1, time.monotonic()
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        except ApiError as error:
            call.status, call.description = error.code, error.description
            call.retry_after = error.parameters.get("retry_after")
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            if error.parameters:
                body["parameters"] = error.parameters
        else:
            call.status = 200
            body = {"ok": True, "result": result}
            if call.method.lower() == "getupdates" and self._verbatim:
                call.done_at = time.monotonic()
                return self._updates_answer(result)
        call.done_at = time.monotonic()
        return web.json_response(body, status=call.status)

    def _updates_answer(self, updates: list[dict[str, Any]]) -> web.Response:
        parts = [self._verbatim.get(u["update_id"]) or json.dumps(u) for u in updates]
        text = '{"ok": true, "result": [' + ", ".join(parts) + "]}"
        return web.Response(text=text, content_type="application/json")

    async def _answer(self, token: str, call: Call) -> Any:
        if token != self.token:
            self.errors.append(f"{call.method} with a wrong token")
            raise ApiError(401, "Unauthorized")
        handler = self._methods.get(call.method.lower())
        if handler is None:
            self.errors.append(f"unknown method {call.method}")
            raise ApiError(404, "Not Found")
        failed_after = await self._inject(call)
        try:
            result = await handler(call.params, call.files)
        except (KeyError, TypeError, ValueError) as error:
            self.errors.append(f"{call.method}: bad parameters: {error!r}")
            raise ApiError(400, f"Bad Request: {error}") from error
        if failed_after is not None:
            raise ApiError(failed_after.status, failed_after.description)
        return result

    async def _inject(self, call: Call) -> Fault | None:
        """Raise the fault this call meets, or wait as a slow one says; a fault to answer
        once the call is carried out is returned instead."""
        chat_id = call.chat_id
        if call.method in SEND_METHODS:
            self._check_floods(call)
            self._check_blocked(call)
        self._check_upgraded(call)
        for fault in list(self._faults):
            if fault.until is not None and call.at >= fault.until:
                self._faults.remove(fault)
                continue
            if not fault.matches(call.method, chat_id):
                continue
            if fault.after > 0:
                fault.after -= 1
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            if fault.delay:
                await asyncio.sleep(fault.delay)
                continue
            if fault.disconnect:
                raise Disconnect
            if fault.done:
                return fault
            if fault.status == 429 and fault.retry_after:
                if call.method in SEND_METHODS:
                    whole = float(fault.retry_after).is_integer()
                    told = {chat_id: time.monotonic()}
                    self._floods[fault.chat_id] = Flood(call.at + fault.retry_after, whole, told)
                raise ApiError(429, fault.description, retry_after=fault.retry_after)
            raise ApiError(fault.status, fault.description)
        return None

    def _check_floods(self, call: Call) -> None:
        """Inside a flood wait, a send gets 429; if the bot had been told, it is an error."""
        chat_id = call.chat_id
        for scope in (chat_id, None):
            flood = self._floods.get(scope)
            if flood is None or call.at >= flood.until:
                continue
            told = {chat for chat, at in flood.told.items() if at + CROSSING <= call.at}
            if chat_id in told or (scope is None and len(told) >= FLOOD_CHATS):
                self.errors.append(
                    f"{call.method} to chat {chat_id} came {flood.until - call.at:.3f}s before "
                    "the retry_after it was told of had elapsed"
                )
            flood.told.setdefault(chat_id, time.monotonic())
            retry_after = flood.retry_after(call.at)
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )

    def _check_blocked(self, call: Call) -> None:
        chat_id = call.chat_id
        if chat_id is None or chat_id not in self._blocked:
            return
        self._blocked[chat_id] += 1
        if self._blocked[chat_id] > 1:
            self.errors.append(f"{call.method} to chat {chat_id} again after a 403 said blocked")
        raise ApiError(403, BLOCKED)

    def _check_upgraded(self, call: Call) -> None:
        chat_id = call.chat_id
        if chat_id is None or chat_id not in self._upgraded:
            return
        supergroup, refused = self._upgraded[chat_id]
        self._upgraded[chat_id] = (supergroup, refused + 1)
        if refused:
            self.errors.append(f"{call.method} to chat {chat_id} again after it was upgraded")
        raise ApiError(400, UPGRADED, migrate_to_chat_id=supergroup)

    @staticmethod
    async def _read(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        """Parameters as Telegram takes them: query string, JSON, form or multipart."""
        params: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: the body is not a JSON object")
            params.update(body)
        elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[name] = value.file.read()
                else:
                    params[name] = value
        return params, files

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # Bot API methods -----------------------------------------------------------------------

    async def _get_me(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Kolbot",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = float(params.get("timeout") or 0)
        allowed = _json(params.get("allowed_updates"))
        if allowed is not None:
            self._allowed = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
        if offset > 0:
            self._confirmed = max(self._confirmed, offset)
        self._queue = [u for u in self._queue if u["update_id"] >= self._confirmed]
        self._poller += 1
        me = self._poller
        self._wake()  # an older long poll ends with 409, as on Telegram
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed
            # Telegram drops updates of types the bot did not ask for.
            self._queue = [u for u in self._queue if self._allowed & u.keys()]
            ready = [u for u in self._queue if u["update_id"] >= offset][:limit]
            if ready or self._closing:
                now = time.monotonic()
                for update in ready:
                    query = update.get("callback_query")
                    if query is not None and not self.deliveries[update["update_id"]]:
                        self._handed[query["id"]] = now
                self.deliveries.update(u["update_id"] for u in ready)
                for update in ready:
                    self.fetched_at.setdefault(update["update_id"], now)
                return ready
            if me != self._poller:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return []

    async def _set_webhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        url = str(params["url"])
        if not url.startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if _bool(params.get("drop_pending_updates")):
            self._queue.clear()
        allowed = _json(params.get("allowed_updates"))
        if allowed is not None:
            self._allowed = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
        self.webhook = {"url": url, "secret_token": secret, "allowed_updates": allowed}
        self._wake()
        return True

    async def _delete_webhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if _bool(params.get("drop_pending_updates")):
            self._queue.clear()
        self.webhook = None
        return True

    async def _get_webhook_info(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }

    async def _send_message(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat = self._chat(params)
        raw = str(params["text"])
        mode = params.get("parse_mode")
        text = _visible(raw, mode, TEXT_LIMIT, "message text is empty", "message is too long")
        sent = SentMessage(
            chat=chat,
            message_id=self._next_message_id(chat["id"]),
            date=int(time.time()),
            text=text,
            raw=raw,
            parse_mode=mode,
            keyboard=_keyboard(params.get("reply_markup")),
        )
        self._accept(sent)
        return sent.as_json()

    async def _send_photo(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat = self._chat(params)
        photo = params.get("photo")
        content: bytes | None = None
        if isinstance(photo, str) and photo.startswith("attach://"):
            content = files[photo.removeprefix("attach://")]
        elif "photo" in files:
            content = files["photo"]
        elif not isinstance(photo, str) or not photo:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        elif "://" in photo and not photo.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: wrong HTTP URL specified")
        if content is not None and not content:
            raise ApiError(400, "Bad Request: file must be non-empty")
        raw = str(params.get("caption") or "")
        mode = params.get("parse_mode")
        caption = _visible(raw, mode, CAPTION_LIMIT, "", "message caption is too long")
        sent = SentMessage(
            chat=chat,
            message_id=self._next_message_id(chat["id"]),
            date=int(time.time()),
            text=caption,
            raw=raw,
            parse_mode=mode,
            keyboard=_keyboard(params.get("reply_markup")),
            photo="upload" if content is not None else str(photo),
            photo_bytes=content,
        )
        self._accept(sent)
        return sent.as_json()

    async def _edit_message_text(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        sent = self._editable(params)
        if sent.photo is not None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        raw = str(params["text"])
        mode = params.get("parse_mode")
        text = _visible(raw, mode, TEXT_LIMIT, "message text is empty", "message is too long")
        keyboard = _keyboard(params.get("reply_markup"))
        if text == sent.text and keyboard == sent.keyboard:
            raise ApiError(400, NOT_MODIFIED)
        sent.text, sent.raw, sent.parse_mode, sent.keyboard = text, raw, mode, keyboard
        sent.edits += 1
        return sent.as_json()

    async def _edit_message_caption(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        sent = self._editable(params)
        if sent.photo is None:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        raw = str(params.get("caption") or "")
        mode = params.get("parse_mode")
        caption = _visible(raw, mode, CAPTION_LIMIT, "", "message caption is too long")
        keyboard = _keyboard(params.get("reply_markup"))
        if caption == sent.text and keyboard == sent.keyboard:
            raise ApiError(400, NOT_MODIFIED)
        sent.text, sent.raw, sent.parse_mode, sent.keyboard = caption, raw, mode, keyboard
        sent.edits += 1
        return sent.as_json()

    async def _edit_message_reply_markup(
        self, params: dict[str, Any], files: dict[str, bytes]
    ) -> Any:
        sent = self._editable(params)
        keyboard = _keyboard(params.get("reply_markup"))
        if keyboard == sent.keyboard:
            raise ApiError(400, NOT_MODIFIED)
        sent.keyboard = keyboard
        sent.edits += 1
        return sent.as_json()

    async def _answer_callback_query(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        query_id = str(params["callback_query_id"])
        if query_id not in self._queries or self._queries[query_id] is not None:
            # A bot that tracks its presses never does this: the test should hear of it.
            self.errors.append(f"answerCallbackQuery for an unknown or answered query {query_id}")
            raise ApiError(400, QUERY_INVALID)
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        now = time.monotonic()
        late = now - self._handed.get(query_id, now)
        if late > ANSWER_DEADLINE:
            self.errors.append(f"answerCallbackQuery {query_id} came {late:.2f}s after the press")
        self._queries[query_id] = now
        return True

    async def _set_my_commands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        commands = _json(params["commands"])
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not _COMMAND_NAME.fullmatch(str(command["command"])):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command["description"])) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        scope = _json(params.get("scope")) or {"type": "default"}
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise ApiError(400, "Bad Request: LANGUAGE_CODE_INVALID")
        self.commands[(str(scope["type"]), language)] = commands
        return True

    async def _get_my_commands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        scope = _json(params.get("scope")) or {"type": "default"}
        return self.commands.get((str(scope["type"]), str(params.get("language_code") or "")), [])

    async def _get_chat_member(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat = self._chat(params)
        user_id = int(params["user_id"])
        admins = self._admins.get(chat["id"], [])
        if user_id == BOT_ID:
            user = await self._get_me(params, files)
        elif user_id in self._users:
            user = self._users[user_id].as_json()
        else:
            raise ApiError(400, "Bad Request: user not found")
        if chat["type"] == "channel" and BOT_ID not in admins:
            # Only a channel's admins may ask about its members.
            raise ApiError(400, "Bad Request: member list is inaccessible")
        if user_id in admins:
            if admins[0] == user_id:
                return {"status": "creator", "user": user, "is_anonymous": False}
            return {"status": "administrator", "user": user, **ADMIN_RIGHTS}
        if user_id == BOT_ID:
            return {"status": "member", "user": user}
        members = self._members.get(chat["id"], {chat["id"]})
        status = "member" if user_id in members else "left"
        return {"status": status, "user": user}

    async def _get_chat(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        """By id, or a public chat by @username, as Telegram finds it."""
        name = str(params.get("chat_id", ""))
        if name.startswith("@"):
            for chat in self._chats.values():
                if chat.get("username", "").casefold() == name[1:].casefold():
                    return {**chat, "accent_color_id": 0, "max_reaction_count": 11}
            raise ApiError(400, "Bad Request: chat not found")
        return {**self._chat(params), "accent_color_id": 0, "max_reaction_count": 11}

    # Helpers -------------------------------------------------------------------------------

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id is None or not str(chat_id).lstrip("-").isdigit():
            raise ApiError(400, "Bad Request: chat not found")
        chat = self._chats.get(int(chat_id))
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _editable(self, params: dict[str, Any]) -> SentMessage:
        if "inline_message_id" in params:
            raise KeyError("inline_message_id: kolbot sends no inline messages")
        chat = self._chat(params)
        sent = self._sent.get(chat["id"], {}).get(int(params["message_id"]))
        if sent is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return sent

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _accept(self, sent: SentMessage) -> None:
        sent.sent_at = time.monotonic()
        self._sent.setdefault(sent.chat_id, {})[sent.message_id] = sent
        for listener in self._listeners:
            try:
                listener(sent)
            except Exception as error:  # the bot did nothing wrong: the test did
                self.errors.append(f"a listener failed on message {sent.message_id}: {error!r}")


def _json(value: Any) -> Any:
    """A JSON-typed parameter: objects arrive serialized in form and PTB's JSON bodies alike."""
    return json.loads(value) if isinstance(value, str) else value


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _visible(raw: str, mode: Any, limit: int, empty: str, too_long: str) -> str:
    """The text the user sees, after entity parsing, within Telegram's limits."""
    if mode not in (None, "HTML"):
        raise ValueError(f"parse_mode {mode!r}: kolbot only ever sends HTML")
    text = (parse_html(raw) if mode == "HTML" else raw).strip()
    if empty and not text:
        raise ApiError(400, f"Bad Request: {empty}")
    if utf16_length(text) > limit:
        raise ApiError(400, f"Bad Request: {too_long}")
    return text


def _keyboard(value: Any) -> list[list[dict[str, Any]]]:
    """An inline keyboard checked as Telegram does; [] when there is none."""
    markup = _json(value)
    if markup is None:
        return []
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or sum(len(row) for row in rows) > 100:
        raise ApiError(400, "Bad Request: too many buttons")
    for row in rows:
        if not isinstance(row, list) or not 1 <= len(row) <= 8:
            raise ApiError(400, "Bad Request: BUTTON_ROWS_INVALID")
        for button in row:
            if not str(button.get("text") or "").strip():
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            kinds = button.keys() - {"text"}
            if kinds not in ({"callback_data"}, {"url"}):
                raise ValueError(f"a button must have exactly callback_data or url: {button}")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not str(url).startswith(("https://", "http://", "tg://")):
                raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
    return rows


async def post_body(url: str, body: bytes, secret: str | None = None) -> int:
    """POST ``body`` as it is to a webhook, as a broken relay might; returns the HTTP status."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        await response.read()
        return response.status


async def post_update(url: str, update: dict[str, Any], secret: str | None = None) -> int:
    """POST an update to a webhook as Telegram does; returns the HTTP status."""
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=update, headers=headers) as response,
    ):
        await response.read()
        return response.status
