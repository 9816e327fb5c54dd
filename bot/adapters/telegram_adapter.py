"""Telegram through python-telegram-bot, used for transport and types only.

kolbot keeps conversation state in SQLite and orders work per chat itself, so this adapter uses
PTB's ``Bot`` (typed Bot API calls) and not its ``Application``: no ConversationHandler,
persistence or JobQueue, and no Updater, whose webhook server needs tornado. Updates arrive by
long polling (a getUpdates loop that outlives network errors) or at an aiohttp webhook; both
hand them to ``ChatQueues``: in order within a chat, concurrently across chats.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final, TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Bot, BotCommand, InputFile, Message, Update
from telegram import error as tg
from telegram.constants import ParseMode
from telegram.request import BaseRequest

from bot.adapters.telegram.chats import DEFAULT_CONCURRENCY, ChatQueues
from bot.adapters.telegram.inbound import ALLOWED_UPDATES, PLATFORM, to_incoming
from bot.adapters.telegram.redact import TOKEN_FILTER
from bot.adapters.telegram.render import Part, escape, plan
from bot.adapters.telegram.request import AiohttpRequest
from bot.core.messages import ChatRef, Incoming, Outgoing
from bot.core.platform import (
    BadRequest,
    RateLimited,
    SendError,
    Transient,
    Unreachable,
    UpdateHandler,
)
from bot.core.router import Command
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, translator
from bot.settings import Settings

__all__ = ["TelegramPlatform"]

log = logging.getLogger(__name__)

T = TypeVar("T")

POLL_TIMEOUT: Final = 30
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
_SECRET_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_NAME: Final = re.compile(r"[a-z0-9_]{1,32}")
_DESCRIPTION_LIMIT: Final = 256
# Telegram redelivers an update when a restart lands between fetching and confirming it;
# remembering recent presses keeps a redelivered one from being answered twice.
_ANSWERED_MEMORY: Final = 10_000
# Messages cut in several parts whose send failed part-way, so a retry resumes, not repeats.
_PROGRESS_MEMORY: Final = 1024


@dataclass(frozen=True, slots=True)
class _Webhook:
    url: str
    path: str
    listen: str
    port: int
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
    return _Webhook(
        url=url,
        path=urlsplit(url).path or "/",
        listen=settings.telegram_webhook_listen,
        port=settings.telegram_webhook_port,
        secret=secret.get_secret_value(),
    )


def _chat_id(chat: ChatRef) -> int | str:
    if chat.platform != PLATFORM:
        raise BadRequest(f"{chat} is not a Telegram chat")
    return int(chat.chat_id) if chat.chat_id.lstrip("-").isdigit() else chat.chat_id


def _retry_after(error: tg.RetryAfter) -> float:
    # A timedelta once PTB_TIMEDELTA is on (see bot.adapters.telegram), else whole seconds.
    wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


def _translate(error: tg.TelegramError) -> SendError:
    """The core's SendError for a Bot API failure; the Deliverer decides what happens next."""
    if isinstance(error, tg.RetryAfter):
        return RateLimited(_retry_after(error))
    if isinstance(error, tg.Forbidden):
        return Unreachable(error.message)
    if isinstance(error, tg.ChatMigrated):
        return BadRequest(f"the group moved to chat {error.new_chat_id}")
    if isinstance(error, tg.BadRequest):  # a subclass of NetworkError: test it first
        return BadRequest(error.message)
    return Transient(error.message)


def _is_parse_error(error: tg.BadRequest) -> bool:
    return "can't parse entities" in error.message.lower()


class TelegramPlatform:
    name = PLATFORM

    def __init__(
        self,
        settings: Settings,
        commands: Sequence[Command],
        *,
        request: BaseRequest | None = None,
        updates_request: BaseRequest | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        poll_timeout: int = POLL_TIMEOUT,
        retry_delays: tuple[float, float] = (1.0, 30.0),
        drain_timeout: float = 10.0,
    ) -> None:
        """``retry_delays`` is the first and the longest wait after a failed getUpdates;
        ``drain_timeout`` bounds how long ``stop`` lets received updates finish."""
        if settings.telegram_token is None:
            raise ValueError("KOLBOT_TELEGRAM_TOKEN is not set")
        token = settings.telegram_token.get_secret_value()
        TOKEN_FILTER.tokens.add(token)
        self._hook = _webhook(settings)
        self._commands = tuple(commands)
        self._bot = Bot(
            token,
            base_url=settings.telegram_base_url,
            request=request or AiohttpRequest(connections=concurrency + 16),
            get_updates_request=updates_request or AiohttpRequest(connections=1),
        )
        self._chats = ChatQueues(concurrency)
        self._poll_timeout = poll_timeout
        self._retry_delays = retry_delays
        self._drain_timeout = drain_timeout
        self._on_update: UpdateHandler | None = None
        self._poller: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._answers: set[asyncio.Task[None]] = set()
        self._answered: OrderedDict[str, None] = OrderedDict()
        self._progress: OrderedDict[int, tuple[Outgoing, int]] = OrderedDict()
        self._closed = asyncio.Event()
        self._failure: BaseException | None = None

    @property
    def username(self) -> str:
        """The bot's @username, known once started."""
        return self._bot.username

    @property
    def pending(self) -> int:
        """Updates received and not yet handled (queued or running)."""
        return self._chats.pending

    # Lifecycle ---------------------------------------------------------------------------

    async def start(self, on_update: UpdateHandler) -> None:
        """Check the token, publish the command menu, then receive in the background."""
        self._on_update = on_update
        try:
            await self._connect()
            await self._publish_commands()
            if self._hook is not None:
                await self._listen(self._hook)
            else:
                # getUpdates is refused while a webhook is set; pending updates are kept.
                await self._bot.delete_webhook(drop_pending_updates=False)
                self._poller = asyncio.create_task(self._poll(), name="telegram-polling")
        except tg.TelegramError as error:
            await self._release()
            raise RuntimeError(f"could not start on Telegram: {error.message}") from error
        except BaseException:
            await self._release()
            raise
        mode = "webhook" if self._hook is not None else "long polling"
        log.info("telegram: @%s receiving by %s", self.username, mode)

    async def stop(self) -> None:
        """Stop receiving, let received updates finish (bounded), then close the client."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._chats.close(self._drain_timeout)
        await self._release()
        self._closed.set()

    async def wait_closed(self) -> None:
        """Return when stopped; raise what ended polling if it ended by itself."""
        await self._closed.wait()
        if self._failure is not None:
            raise self._failure

    async def _connect(self) -> None:
        try:
            await self._bot.initialize()
        except tg.InvalidToken:
            # PTB's message quotes the token: say what happened without it.
            raise RuntimeError("Telegram refused KOLBOT_TELEGRAM_TOKEN") from None

    async def _release(self) -> None:
        if self._answers:
            await asyncio.gather(*self._answers, return_exceptions=True)
        await self._bot.shutdown()

    async def _publish_commands(self) -> None:
        """The command menu in English for everyone, and in each language for its speakers."""
        commands = []
        for command in self._commands:
            if _COMMAND_NAME.fullmatch(command.name):
                commands.append(command)
            else:
                log.warning("/%s cannot be a Telegram command (a-z, 0-9, _)", command.name)
        languages: list[str | None] = [None]
        languages += [code for code in LANGUAGES if code != DEFAULT_LANGUAGE]
        await asyncio.gather(*(self._publish_menu(commands, code) for code in languages))

    async def _publish_menu(self, commands: list[Command], language: str | None) -> None:
        t = translator(language or DEFAULT_LANGUAGE)
        menu = [
            BotCommand(command.name, t._(command.description)[:_DESCRIPTION_LIMIT] or command.name)
            for command in commands
        ]
        try:
            await self._bot.set_my_commands(menu, language_code=language)
        except tg.TelegramError as error:
            # The menu is a convenience: typed commands work without it.
            log.warning("could not set the %s command menu: %s", language or "default", error)

    # Receiving ---------------------------------------------------------------------------

    async def _poll(self) -> None:
        """Long-poll getUpdates forever; an update is confirmed only by asking for the next.

        Failures (network, 5xx, 429, a conflicting poller) wait and retry with backoff; only
        a revoked token ends polling, and ``wait_closed`` reports it.
        """
        offset: int | None = None
        failures = 0
        try:
            while True:
                await self._chats.room()
                try:
                    updates = await self._bot.get_updates(
                        offset=offset,
                        timeout=self._poll_timeout,
                        allowed_updates=ALLOWED_UPDATES,
                    )
                except tg.InvalidToken:
                    raise RuntimeError("Telegram refused KOLBOT_TELEGRAM_TOKEN") from None
                except tg.RetryAfter as limited:
                    delay = _retry_after(limited)
                    log.warning("telegram getUpdates rate limited; waiting %.0fs", delay)
                except tg.TelegramError as error:
                    failures += 1
                    first, longest = self._retry_delays
                    delay = min(longest, first * 2 ** (failures - 1))
                    log.warning("telegram getUpdates failed (%s); retrying in %.1fs", error, delay)
                else:
                    failures = 0
                    for update in updates:
                        offset = update.update_id + 1
                        self._receive(update)
                    continue
                await asyncio.sleep(delay)
        except Exception as failure:
            log.error("telegram polling stopped: %s", failure)
            self._failure = failure
            self._closed.set()

    async def _on_webhook(self, request: web.Request) -> web.Response:
        """Check the secret, queue the update, answer 200 at once: handling happens later."""
        assert self._hook is not None
        offered = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(offered, self._hook.secret.encode()):
            return web.Response(status=403)
        try:
            payload = await request.json()
            if not isinstance(payload, dict):
                raise TypeError("an update is a JSON object")
            update = Update.de_json(payload, self._bot)
        except Exception:
            log.warning("ignoring a webhook request that is not an update")
            return web.Response(status=400)
        # A full backlog holds Telegram's connection, which slows its deliveries down.
        await self._chats.room()
        self._receive(update)
        return web.Response()

    async def _listen(self, hook: _Webhook) -> None:
        server = web.Application()
        server.router.add_post(hook.path, self._on_webhook)
        # No access log: at a million users it is noise, and the path is part of the secret.
        self._runner = web.AppRunner(server, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, hook.listen, hook.port).start()
        await self._bot.set_webhook(
            hook.url, secret_token=hook.secret, allowed_updates=ALLOWED_UPDATES
        )

    def _receive(self, update: Update) -> None:
        """Answer a button press at once, then queue the update behind its chat's earlier ones."""
        answer = None
        if update.callback_query is not None:
            answer = self._answer(update.callback_query.id)
        try:
            incoming = to_incoming(update, self.username)
        except Exception:
            log.exception("ignoring telegram update %s", update.update_id)
            return
        if incoming is not None:
            job = functools.partial(self._handle, incoming, answer)
            self._chats.submit(incoming.chat.chat_id, job)

    async def _handle(self, incoming: Incoming, answer: asyncio.Task[None] | None) -> None:
        if answer is not None:
            await answer  # the spinner stops before any reply, as Telegram expects
        assert self._on_update is not None
        await self._on_update(incoming)

    def _answer(self, query_id: str) -> asyncio.Task[None] | None:
        if query_id in self._answered:
            return None
        self._answered[query_id] = None
        if len(self._answered) > _ANSWERED_MEMORY:
            self._answered.popitem(last=False)
        task = asyncio.create_task(self._answer_query(query_id))
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)
        return task

    async def _answer_query(self, query_id: str) -> None:
        try:
            await self._bot.answer_callback_query(query_id)
        except tg.TelegramError as error:
            # Too old, or answered before a restart: the press is still handled.
            log.info("could not answer a button press: %s", error)

    # Sending -----------------------------------------------------------------------------

    async def send(self, message: Outgoing) -> str:
        """Send (or edit) one message as HTML with every character of its text escaped."""
        chat_id = _chat_id(message.chat)
        parts = plan(message)
        if not parts:
            raise BadRequest("a message needs text or an image")
        try:
            if message.edit_message_id is not None and len(parts) == 1 and not parts[0].photo:
                edited = await self._edit(chat_id, int(message.edit_message_id), parts[0])
                if edited is not None:
                    return edited
            return await self._send_parts(chat_id, message, parts)
        except tg.TelegramError as error:
            raise _translate(error) from error

    async def _send_parts(self, chat_id: int | str, message: Outgoing, parts: list[Part]) -> str:
        key = id(message)
        resumed = self._progress.pop(key, None)
        first = resumed[1] if resumed is not None and resumed[0] is message else 0
        sent = 0
        for index in range(first, len(parts)):
            try:
                sent = await self._send_part(chat_id, parts[index])
            except tg.TelegramError:
                if index > 0:
                    self._progress[key] = (message, index)
                    if len(self._progress) > _PROGRESS_MEMORY:
                        self._progress.popitem(last=False)
                raise
        return str(sent)

    async def _send_part(self, chat_id: int | str, part: Part) -> int:
        if part.photo is not None:
            return await self._send_photo(chat_id, part)

        async def send_text(text: str, mode: ParseMode | None) -> Message:
            return await self._bot.send_message(
                chat_id, text, parse_mode=mode, reply_markup=part.markup
            )

        return (await self._html_or_plain(send_text, part.text)).message_id

    async def _send_photo(self, chat_id: int | str, part: Part) -> int:
        image = part.photo
        assert image is not None
        photo: str | InputFile
        if image.url is not None:
            photo = image.url
        elif image.path is not None:
            path = Path(image.path)
            try:
                photo = InputFile(await asyncio.to_thread(path.read_bytes), filename=path.name)
            except OSError as error:
                raise BadRequest(f"cannot read the image {path}: {error}") from error
        else:
            raise BadRequest("an image needs a url or a path")

        async def send_photo(caption: str, mode: ParseMode | None) -> Message:
            return await self._bot.send_photo(
                chat_id,
                photo,
                caption=caption or None,
                parse_mode=mode if caption else None,
                reply_markup=part.markup,
            )

        return (await self._html_or_plain(send_photo, part.text)).message_id

    async def _edit(self, chat_id: int | str, message_id: int, part: Part) -> str | None:
        """Edit in place; None when the message cannot be edited and a new one should go."""

        async def edit_text(text: str, mode: ParseMode | None) -> None:
            await self._bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=mode,
                reply_markup=part.markup,
            )

        try:
            await self._html_or_plain(edit_text, part.text)
        except tg.BadRequest as error:
            if "message is not modified" in error.message.lower():
                return str(message_id)  # a double press: what it shows is already right
            log.info("cannot edit message %s in %s (%s); sending anew", message_id, chat_id, error)
            return None
        return str(message_id)

    async def _html_or_plain(
        self, call: Callable[[str, ParseMode | None], Awaitable[T]], text: str
    ) -> T:
        """Send the text escaped as HTML; should Telegram still fail to parse it, send the same
        words without a parse mode rather than not at all."""
        try:
            return await call(escape(text), ParseMode.HTML)
        except tg.BadRequest as error:
            if not _is_parse_error(error):
                raise
            log.warning("telegram could not parse escaped HTML (%s); sending plain text", error)
            return await call(text, None)
