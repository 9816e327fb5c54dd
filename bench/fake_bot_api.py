"""A lean fake Telegram Bot API for the benchmarks: fast enough not to be what is measured.

tests/fakes/telegram_server.py checks every detail (HTML, keyboards, floods) and keeps a log of
every call; at thousands of calls a second that bookkeeping would be the bottleneck, so the bench
has its own. It keeps counters only, answers every call after ``delay`` (Telegram's round trip),
serves getUpdates with offset/limit/timeout semantics, delivers to a webhook as Telegram does
(``max_connections`` at a time, again on anything but 200), and can cap sends per second with
429s the way Telegram counts them: arrivals in any one-second window. A call Telegram would
refuse (an unknown method, a bad token, a missing parameter) lands in ``errors``, which fails the
workload: a fake that accepts anything measures nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import aiohttp
from aiohttp import web

BOT_ID: Final = 123456
TOKEN: Final = f"{BOT_ID}:ABC-fake-token-of-the-right-shape_01"
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
TEXT_LIMIT: Final = 4096
# Methods that put something in a chat: the ones a send cap counts.
SEND_METHODS: Final = frozenset({"sendmessage", "editmessagetext"})
WEBHOOK_CONNECTIONS: Final = 40  # Telegram's default max_connections
WEBHOOK_RETRY: Final = 0.5  # seconds before a refused webhook delivery is tried again

Method = Callable[[Mapping[str, Any]], Awaitable[Any]]


class ApiError(Exception):
    """An error answer: HTTP status, Telegram's description, optional retry_after."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def start_update(update_id: int, user: Mapping[str, Any], text: str = "/start") -> dict[str, Any]:
    """The update Telegram makes when ``user`` sends ``text`` in their private chat."""
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    message: dict[str, Any] = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": chat,
        "from": dict(user),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": message}


class FakeBotApi:
    """Serve the Bot API on 127.0.0.1; push updates in, read counters out."""

    def __init__(
        self,
        *,
        token: str = TOKEN,
        delay: float = 0.05,
        cap: int | None = None,
        username: str = "kolbot_bench_bot",
    ) -> None:
        self.token = token
        self.delay = delay
        self.cap = cap
        self.username = username
        self.port = 0
        self.errors: list[str] = []
        self.calls: Counter[str] = Counter()
        self.fetched: Counter[int] = Counter()  # update id → times getUpdates returned it
        self.posted: Counter[int] = Counter()  # update id → webhook deliveries tried
        self.available_at: dict[int, float] = {}  # update id → when it was pushed
        self.first_reply_at: dict[int, float] = {}  # chat id → first accepted send's arrival
        self.sends = 0  # accepted sends
        self.first_send_at: float | None = None
        self.last_send_at: float | None = None
        self.rate_limited = 0  # 429s answered
        self.last_call_at = 0.0  # arrival of the latest call other than getUpdates
        self.polling = asyncio.Event()  # set at the first getUpdates
        self.webhook_set = asyncio.Event()
        self.on_send: Callable[[int], None] | None = None  # called with ``sends`` on each one
        self._chats: dict[int, dict[str, Any]] = {}
        self._message_ids: dict[int, int] = {}  # chat id → last message id
        self._pending: deque[dict[str, Any]] = deque()  # not yet confirmed, by update id
        self._update_ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._poller = 0
        self._window: deque[float] = deque()  # accepted sends' arrivals in the last second
        self._webhook: dict[str, Any] | None = None
        self._outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._deliverers: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._methods: dict[str, Method] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "answercallbackquery": self._answer_callback_query,
        }

    # Lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=1 << 20)
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        self._closing = True
        self._wake()
        await self._stop_delivering()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """What KOLBOT_TELEGRAM_BASE_URL should be: the bot appends ``<token>/<method>``."""
        return f"http://127.0.0.1:{self.port}/bot"

    # The world ---------------------------------------------------------------------------

    def add_user(self, user_id: int, first_name: str) -> None:
        """A user and their private chat with the bot (same id, as on Telegram)."""
        self._chats[user_id] = {"id": user_id, "type": "private", "first_name": first_name}

    def push(self, update: dict[str, Any]) -> int:
        """Make an update available: to getUpdates, or to the webhook once one is set."""
        update_id = int(update["update_id"])
        self.available_at[update_id] = time.monotonic()
        if self._webhook is not None:
            self._outgoing.put_nowait(update)
        else:
            self._pending.append(update)
            self._wake()
        return update_id

    def next_update_id(self) -> int:
        return next(self._update_ids)

    # Serving -----------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        name = request.match_info["method"]
        method = name.lower()
        self.calls[name] += 1
        if method != "getupdates":
            self.last_call_at = arrived
        waited = False
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            handler = self._methods.get(method)
            if handler is None:
                raise ApiError(404, "Not Found")
            params = await _params(request)
            if method in SEND_METHODS:
                self._admit(arrived)
            if method != "getupdates":  # a long poll's delay comes once it has something
                await asyncio.sleep(self.delay)
            waited = True
            result = await handler(params)
            if method in SEND_METHODS:
                self._sent(params, arrived)
        except (ApiError, KeyError, ValueError, TypeError) as failure:
            error = (
                failure
                if isinstance(failure, ApiError)
                else ApiError(400, f"Bad Request: {type(failure).__name__}: {failure}")
            )
            if error.code != 429:  # a well-behaved bot never makes Telegram refuse it
                self.errors.append(f"{name}: {error.code} {error.description}")
            if not waited:
                await asyncio.sleep(self.delay)
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            return web.json_response(body, status=error.code)
        return web.json_response({"ok": True, "result": result})

    def _admit(self, now: float) -> None:
        """Under a cap, refuse a send past ``cap`` arrivals in the last second with a 429
        whose retry_after is whole seconds, as Telegram's are."""
        if self.cap is None:
            return
        window = self._window
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.cap:
            self.rate_limited += 1
            wait = max(1, math.ceil(window[0] + 1.0 - now))
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        window.append(now)

    def _sent(self, params: Mapping[str, Any], arrived: float) -> None:
        self.sends += 1
        if self.first_send_at is None:
            self.first_send_at = arrived
        self.last_send_at = arrived
        chat_id = int(params["chat_id"])
        self.first_reply_at.setdefault(chat_id, arrived)
        if self.on_send is not None:
            self.on_send(self.sends)

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # Bot API methods ---------------------------------------------------------------------

    async def _get_me(self, params: Mapping[str, Any]) -> Any:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Kolbot",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: Mapping[str, Any]) -> Any:
        self.polling.set()
        if self._webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        self._poller += 1
        me = self._poller
        self._wake()  # an earlier long poll still waiting ends with 409, as on Telegram
        deadline = time.monotonic() + timeout
        while True:
            if me != self._poller:
                raise ApiError(409, "Conflict: terminated by other getUpdates request")
            if self._ready(offset) or self._closing:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await changed.wait()
        # The answer takes its round trip, and carries what is there by the time it leaves.
        await asyncio.sleep(self.delay)
        if me != self._poller:
            raise ApiError(409, "Conflict: terminated by other getUpdates request")
        self._ready(offset)
        ready = list(itertools.islice(self._pending, limit))
        self.fetched.update(update["update_id"] for update in ready)
        return ready

    def _ready(self, offset: int) -> bool:
        """Forget what ``offset`` confirms, as Telegram does; whether anything is left."""
        pending = self._pending
        while pending and pending[0]["update_id"] < offset:
            pending.popleft()
        return bool(pending)

    async def _set_webhook(self, params: Mapping[str, Any]) -> Any:
        url = str(params["url"])
        if not url.startswith(("https://", "http://127.0.0.1")):
            raise ApiError(400, "Bad Request: bad webhook: an HTTPS URL must be provided")
        connections = int(params.get("max_connections") or WEBHOOK_CONNECTIONS)
        if not 1 <= connections <= 100:
            raise ApiError(400, "Bad Request: bad max_connections")
        secret = params.get("secret_token")
        await self._stop_delivering()
        if _true(params.get("drop_pending_updates")):
            self._pending.clear()
        self._webhook = {"url": url, "secret": secret, "max_connections": connections}
        # What getUpdates had not confirmed goes to the webhook now.
        while self._pending:
            self._outgoing.put_nowait(self._pending.popleft())
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=60),
        )
        self._deliverers = [
            asyncio.create_task(self._deliver(self._session, url, secret))
            for _ in range(connections)
        ]
        self.webhook_set.set()
        return True

    async def _delete_webhook(self, params: Mapping[str, Any]) -> Any:
        await self._stop_delivering()
        self._webhook = None
        while not self._outgoing.empty():
            self._pending.append(self._outgoing.get_nowait())
        if _true(params.get("drop_pending_updates")):
            self._pending.clear()
        self._wake()
        return True

    async def _get_webhook_info(self, params: Mapping[str, Any]) -> Any:
        webhook = self._webhook or {}
        return {
            "url": webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending) + self._outgoing.qsize(),
            "max_connections": webhook.get("max_connections", WEBHOOK_CONNECTIONS),
        }

    async def _set_my_commands(self, params: Mapping[str, Any]) -> Any:
        commands = _json(params["commands"])
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not command["command"] or not command["description"]:
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        return True

    async def _send_message(self, params: Mapping[str, Any]) -> Any:
        chat = self._chat(params)
        text = str(params["text"])
        if not text.strip() or len(text.encode("utf-16-le")) // 2 > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: message text is empty or too long")
        message_id = self._message_ids.get(chat["id"], 0) + 1
        self._message_ids[chat["id"]] = message_id
        return _message(chat, message_id, text, params.get("reply_markup"))

    async def _edit_message_text(self, params: Mapping[str, Any]) -> Any:
        chat = self._chat(params)
        message_id = int(params["message_id"])
        if not 1 <= message_id <= self._message_ids.get(chat["id"], 0):
            raise ApiError(400, "Bad Request: message to edit not found")
        return _message(chat, message_id, str(params["text"]), params.get("reply_markup"))

    async def _answer_callback_query(self, params: Mapping[str, Any]) -> Any:
        if not params["callback_query_id"]:
            raise ValueError("callback_query_id is empty")
        return True

    def _chat(self, params: Mapping[str, Any]) -> dict[str, Any]:
        chat = self._chats.get(int(params["chat_id"]))
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    # Webhook delivery --------------------------------------------------------------------

    async def _deliver(self, session: aiohttp.ClientSession, url: str, secret: Any) -> None:
        """One of ``max_connections``: POST updates until none are left; anything but 200 is
        tried again later, as Telegram does."""
        headers = {SECRET_HEADER: str(secret)} if secret else {}
        while True:
            update = await self._outgoing.get()
            self.posted[update["update_id"]] += 1
            try:
                async with session.post(url, json=update, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            if status == 403:
                self.errors.append("the webhook refused its own secret token")
            if status != 200:
                await asyncio.sleep(WEBHOOK_RETRY)
                self._outgoing.put_nowait(update)

    async def _stop_delivering(self) -> None:
        for task in self._deliverers:
            task.cancel()
        await asyncio.gather(*self._deliverers, return_exceptions=True)
        self._deliverers = []
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _params(request: web.Request) -> dict[str, Any]:
    """Parameters as the Bot API takes them: query string, form (PTB's way) or JSON body."""
    params: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("the body is not a JSON object")
            params.update(body)
        else:
            params.update((await request.post()).items())
    return params


def _true(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _json(value: Any) -> Any:
    """A JSON-typed parameter: serialized in a form, already decoded in a JSON body."""
    return json.loads(value) if isinstance(value, str) else value


def _message(chat: dict[str, Any], message_id: int, text: str, markup: Any) -> dict[str, Any]:
    """A Message as Telegram returns it; an inline keyboard is echoed, a reply keyboard not."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat,
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Kolbot"},
        "text": text,
    }
    keyboard = _json(markup) if markup is not None else None
    if isinstance(keyboard, dict) and "inline_keyboard" in keyboard:
        message["reply_markup"] = {"inline_keyboard": keyboard["inline_keyboard"]}
    return message
