"""Telegram through python-telegram-bot, used for transport and types only.

kolbot keeps conversation state in SQLite and orders work per person itself, so this adapter
uses PTB's ``Bot`` (typed Bot API calls over an aiohttp ``BaseRequest``) and not its
``Application``: no ConversationHandler, persistence or JobQueue, and no Updater. Its parts,
each in ``bot.adapters.telegram``: ``receiving`` (long polling, or a webhook route on the app's
web server, both storing before acknowledging), ``sending`` (paced, escaped, resumable),
``interactions`` (button presses answered at once), ``menus`` (the command menu).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final
from urllib.parse import urlsplit

from telegram import Bot
from telegram import error as tg
from telegram.request import BaseRequest

from bot.adapters.telegram.chats import ChatQuestions
from bot.adapters.telegram.inbound import ALLOWED_UPDATES, PLATFORM
from bot.adapters.telegram.interactions import CallbackAnswers
from bot.adapters.telegram.menus import publish_commands
from bot.adapters.telegram.pacing import Pacer
from bot.adapters.telegram.receiving import Poller, Reader, WebhookRoute
from bot.adapters.telegram.redact import redact, remember
from bot.adapters.telegram.request import AiohttpRequest
from bot.adapters.telegram.sending import Sender
from bot.core.messages import ChatRef, Outgoing
from bot.core.platform import CannotStart, ChatInfo, UpdateSink
from bot.core.router import Command
from bot.settings import DEFAULT_TELEGRAM_BASE_URL as DEFAULT_BASE_URL
from bot.settings import Settings
from bot.web import WebServer

__all__ = ["TelegramPlatform"]

log = logging.getLogger(__name__)

POLL_TIMEOUT: Final = 30
_SECRET_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Webhook requests Telegram may make at once (its default is 40, the most 100).
WEBHOOK_CONNECTIONS: Final = 100
# Telegram's own Bot API posts webhooks to https:// on these ports only; a self-hosted Bot API
# server (telegram-bot-api --local) takes any port, and http:// too.
TELEGRAM_API_HOST: Final = "api.telegram.org"
WEBHOOK_PORTS: Final = (443, 80, 88, 8443)


@dataclass(frozen=True, slots=True)
class _Webhook:
    url: str
    path: str
    secret: str


def _webhook(settings: Settings) -> _Webhook | None:
    """Webhook mode when a URL is set; it refuses to run without a well-formed secret."""
    url = settings.telegram_webhook_url
    if not url:
        return None
    secret = settings.telegram_webhook_secret
    if secret is None or not secret.get_secret_value():
        raise ValueError(
            "KOLBOT_TELEGRAM_WEBHOOK_SECRET must be set when KOLBOT_TELEGRAM_WEBHOOK_URL is: "
            "Telegram sends it with every update, and without it anyone who finds the URL "
            "could post updates in any user's name"
        )
    if not _SECRET_TOKEN.fullmatch(secret.get_secret_value()):
        raise ValueError(
            "KOLBOT_TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = urlsplit(""), None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(
            f"KOLBOT_TELEGRAM_WEBHOOK_URL {url!r} is not a web address: set the https:// "
            "address Telegram posts updates to, such as https://bot.example.com/telegram"
        )
    if urlsplit(settings.telegram_base_url).hostname == TELEGRAM_API_HOST:
        if parts.scheme != "https":
            raise ValueError(
                f"KOLBOT_TELEGRAM_WEBHOOK_URL {url!r} is http://, and Telegram posts updates "
                "to https:// addresses only: put a TLS proxy in front of the web server and "
                "set its https:// address"
            )
        if port is not None and port not in WEBHOOK_PORTS:
            raise ValueError(
                f"KOLBOT_TELEGRAM_WEBHOOK_URL {url!r} has port {port}, and Telegram posts "
                f"updates to ports {', '.join(map(str, WEBHOOK_PORTS))} only"
            )
    return _Webhook(url=url, path=parts.path or "/", secret=secret.get_secret_value())


def _is_bot(payload: bytes) -> bool:
    """A Bot API answer to getMe: ok, with the bot's user as its result."""
    try:
        answer = json.loads(payload)
    except ValueError:
        return False
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        return False
    result = answer.get("result")
    return isinstance(result, dict) and result.get("is_bot") is True


class TelegramPlatform:
    name = PLATFORM

    def __init__(
        self,
        settings: Settings,
        commands: Sequence[Command],
        *,
        request: BaseRequest | None = None,
        updates_request: BaseRequest | None = None,
        answers_request: BaseRequest | None = None,
        poll_timeout: int = POLL_TIMEOUT,
        retry_delays: tuple[float, float] = (1.0, 30.0),
    ) -> None:
        """``retry_delays`` is the first and the longest wait after a failed getUpdates.
        Button presses are answered on ``answers_request``, so sends never hold them up."""
        if settings.telegram_token is None:
            raise ValueError("KOLBOT_TELEGRAM_TOKEN is not set")
        token = settings.telegram_token.get_secret_value()
        remember(token)
        self._base_url = settings.telegram_base_url
        self._bot_id = token.partition(":")[0]
        self._hook = _webhook(settings)
        self._commands = tuple(commands)
        self._updates_request = updates_request or AiohttpRequest(connections=1)
        self._answers_request = answers_request or AiohttpRequest(
            connections=8, read_timeout=2.0, connect_timeout=2.0, pool_timeout=1.0
        )
        # A connection for every send the outbox may have in flight, and some to spare. An
        # answer later than the read timeout may hide a delivered message: wait for a slow
        # platform rather than send again.
        self._read_timeout = settings.delivery_read_timeout_seconds
        self._request = request or AiohttpRequest(
            connections=settings.outbox_concurrency + 16,
            read_timeout=settings.delivery_read_timeout_seconds,
        )
        self._bot = Bot(
            token,
            base_url=settings.telegram_base_url,
            request=self._request,
            get_updates_request=self._updates_request,
        )
        self._answers = CallbackAnswers(self._answers_request, self._url("answerCallbackQuery"))
        self._reader = Reader(self._bot, self._answers)
        self._poller = Poller(
            self._updates_request,
            self._url("getUpdates"),
            self._reader,
            poll_timeout=poll_timeout,
            retry_delays=retry_delays,
        )
        self._route = (
            WebhookRoute(self._reader, self._hook.secret, self.identity)
            if self._hook is not None
            else None
        )
        self.pacer = Pacer(
            rate=settings.telegram_rate,
            chat_rate=settings.telegram_chat_rate,
            chat_burst=settings.telegram_chat_burst,
            group_rate=settings.telegram_group_rate,
        )
        self._sender = Sender(self._bot, self.pacer, self._request)
        self._chats = ChatQuestions(self._answers_request, self._bot.base_url, self._bot_id)
        self._polling: asyncio.Task[None] | None = None
        self._probed = False
        self._mounted = False
        self._closed = asyncio.Event()

    @property
    def identity(self) -> str:
        return f"{PLATFORM}:{self._bot_id}"

    @property
    def username(self) -> str:
        """The bot's @username, known once started."""
        return self._bot.username

    def _url(self, method: str) -> str:
        return f"{self._bot.base_url}/{method}"

    # Lifecycle ---------------------------------------------------------------------------

    def mount(self, web: WebServer) -> None:
        if self._hook is not None and self._route is not None:
            web.add_post(self._hook.path, self._route.handle)
            self._mounted = True

    async def probe(self) -> None:
        """Ask the Bot API who the bot is, on a client of its own, before anything is created:
        an address that is no Bot API, or a token it refuses, is told then (lasting), as is
        one that cannot be reached now (which may pass)."""
        # As patient as a send: a Bot API that is slow but there is no reason not to start.
        request = AiohttpRequest(connections=1, read_timeout=self._read_timeout)
        await request.initialize()
        try:
            await self._ask_get_me(request)
        finally:
            await request.shutdown()
        self._probed = True

    async def _ask_get_me(self, request: BaseRequest) -> None:
        """getMe, judged by its HTTP status: PTB raises InvalidToken for a 404 as for a 401,
        and with a token of the right shape (settings check it) a 404 means the address."""
        base = redact(self._base_url)  # a proxy's user and password stay out of it
        try:
            status, payload = await request.do_request(self._url("getMe"), "POST")
        except tg.TelegramError as error:  # the address's error, with the token redacted
            raise CannotStart(
                f"could not start on Telegram: KOLBOT_TELEGRAM_BASE_URL {base} cannot be "
                f"reached: {error.message}",
                lasting=False,
            ) from None
        if status == HTTPStatus.UNAUTHORIZED:
            raise CannotStart(
                "could not start on Telegram: Telegram refused KOLBOT_TELEGRAM_TOKEN (401 "
                "Unauthorized): set the token BotFather gave the bot",
                lasting=True,
            )
        if status == HTTPStatus.NOT_FOUND:
            raise CannotStart(
                f"could not start on Telegram: KOLBOT_TELEGRAM_BASE_URL {base} answered 404 "
                f"to getMe: there is no Bot API there (Telegram's is {DEFAULT_BASE_URL})",
                lasting=True,
            )
        if 200 <= status <= 299 and _is_bot(payload):
            return
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR or status == HTTPStatus.TOO_MANY_REQUESTS:
            raise CannotStart(
                f"could not start on Telegram: KOLBOT_TELEGRAM_BASE_URL {base} answered "
                f"{status} to getMe: the Bot API is unavailable now",
                lasting=False,
            )
        raise CannotStart(
            f"could not start on Telegram: KOLBOT_TELEGRAM_BASE_URL {base} answered {status} "
            f"to getMe, not as a Bot API does (Telegram's is {DEFAULT_BASE_URL})",
            lasting=True,
        )

    async def start(self, sink: UpdateSink) -> None:
        """Check the token, publish the command menu, then receive in the background."""
        try:
            await self._connect()
            await publish_commands(self._bot, self._commands)
            if self._hook is not None:
                if not self._mounted or self._route is None:
                    raise RuntimeError(
                        "a Telegram webhook needs the web server: set KOLBOT_WEB_PORT"
                    )
                self._route.sink = sink
                try:
                    await self._bot.set_webhook(
                        self._hook.url,
                        secret_token=self._hook.secret,
                        allowed_updates=ALLOWED_UPDATES,
                        max_connections=WEBHOOK_CONNECTIONS,
                    )
                except tg.BadRequest as refused:
                    # Only Telegram can tell a host it cannot reach: name what to correct.
                    raise tg.BadRequest(
                        f"KOLBOT_TELEGRAM_WEBHOOK_URL {self._hook.url}: {refused.message}"
                    ) from None
            else:
                # getUpdates is refused while a webhook is set; pending updates are kept.
                await self._bot.delete_webhook(drop_pending_updates=False)
                self._polling = asyncio.create_task(
                    self._poller.run(sink, self.identity, self._closed.set),
                    name="telegram-polling",
                )
        except tg.TelegramError as error:
            await self._release()
            # A refused request (a webhook Telegram will not take) fails the same way again.
            lasting = isinstance(error, tg.BadRequest | tg.Forbidden)
            raise CannotStart(
                f"could not start on Telegram: {error.message}", lasting=lasting
            ) from error
        except BaseException:
            await self._release()
            raise
        mode = "webhook" if self._hook is not None else "long polling"
        log.info("telegram: @%s receiving by %s", self.username, mode)

    async def stop_receiving(self) -> None:
        """The first step of a stop: no more updates in (a webhook gets 503, so Telegram
        keeps them), and Telegram told of the last batch stored, so it never sends it again."""
        if self._route is not None:
            self._route.sink = None
        if self._polling is not None:
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
            await self._poller.confirm()

    async def stop(self) -> None:
        """Stop receiving if still receiving, then close the clients."""
        await self.stop_receiving()
        await self._release()
        self._closed.set()

    async def wait_closed(self) -> None:
        """Return when stopped; raise what ended polling if it ended by itself."""
        await self._closed.wait()
        if self._poller.failure is not None:
            raise self._poller.failure

    async def _connect(self) -> None:
        if not self._probed:
            await self._request.initialize()
            await self._ask_get_me(self._request)
        try:
            await self._bot.initialize()
        except tg.InvalidToken:
            # PTB's message quotes the token: say what happened without it.
            raise CannotStart(
                "could not start on Telegram: Telegram refused KOLBOT_TELEGRAM_TOKEN", lasting=True
            ) from None
        await self._answers_request.initialize()

    async def _release(self) -> None:
        await self._answers.close()
        await self._answers_request.shutdown()
        await self._bot.shutdown()
        # Bot.shutdown passes over a client it never initialized itself (the getMe asked
        # before it, when that failed).
        await self._request.shutdown()

    # Chats and links ---------------------------------------------------------------------

    async def is_chat_admin(self, chat: ChatRef, user_id: str) -> bool:
        return await self._chats.is_chat_admin(chat, user_id)

    async def find_chat(self, name: str) -> ChatInfo | None:
        return await self._chats.find_chat(name)

    def private_start_link(self, payload: str) -> str:
        """A deep link: opens the private chat with the bot and sends ``/start payload``."""
        return f"https://t.me/{self.username}?start={payload}"

    # Sending -----------------------------------------------------------------------------

    async def send(self, message: Outgoing, *, first_part: int = 0) -> str:
        """Send (or edit) one message as HTML with every character of its text escaped."""
        return await self._sender.send(message, first_part)
