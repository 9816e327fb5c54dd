"""Telegram through python-telegram-bot, used for transport and types only.

kolbot keeps conversation state in SQLite and orders work per chat itself, so this adapter uses
PTB's ``Bot`` (typed Bot API calls) and not its ``Application``: no ConversationHandler,
persistence or JobQueue, and no Updater, whose webhook server needs tornado. Updates arrive by
long polling (a getUpdates loop that outlives network errors) or at an aiohttp webhook; both
hand them to ``ChatQueues``: in order within a chat, concurrently across chats. Telegram is told
an update was taken only once it is handled (``intake``), and sends are paced under Telegram's
limits, their waits sat out of the concurrency slots (``pacing``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Bot, BotCommand, InputFile, Message, Update
from telegram import error as tg
from telegram.constants import ParseMode
from telegram.request import BaseRequest

from bot.adapters.telegram.chats import (
    DEFAULT_BACKLOG,
    DEFAULT_CHAT_BACKLOG,
    DEFAULT_CONCURRENCY,
    ChatQueues,
)
from bot.adapters.telegram.inbound import ALLOWED_UPDATES, PLATFORM, replied_update, to_incoming
from bot.adapters.telegram.intake import Intake
from bot.adapters.telegram.pacing import ChatId, Pacer
from bot.adapters.telegram.redact import TOKEN_FILTER
from bot.adapters.telegram.render import CAPTION_LIMIT, Part, escape, plan, utf16_length
from bot.adapters.telegram.request import AiohttpRequest, call
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
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

POLL_TIMEOUT: Final = 30
FETCH_LIMIT: Final = 100  # the most getUpdates returns at once
# Telegram gives up on a webhook request after about a minute and sends the update again.
WEBHOOK_TIMEOUT: Final = 55.0
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
_SECRET_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_NAME: Final = re.compile(r"[a-z0-9_]{1,32}")
_DESCRIPTION_LIMIT: Final = 256
# How often to look for new updates while the offset is held back (see ``_repoll_wait``).
REPOLL: Final = 0.2
# A button press shows a spinner until answered; an answer later than this is useless.
_ANSWER_WAIT_LIMIT: Final = 1.0
# The command menu is worth this long a wait at start, not more.
_MENU_WAIT_LIMIT: Final = 10.0
# Telegram redelivers an update when a restart lands between fetching and confirming it;
# remembering recent presses keeps a redelivered one from being answered twice.
_ANSWERED_MEMORY: Final = 10_000
# Messages cut in several parts whose send failed part-way, so a retry resumes, not repeats.
_PROGRESS_MEMORY: Final = 1024
# Messages sent as photos, whose text is edited as a caption.
_PHOTO_MEMORY: Final = 10_000
# Groups that became supergroups (old id → new), so later sends go straight to the new id.
_MOVED_MEMORY: Final = 10_000
_MOVES_PER_CALL: Final = 3
_NO_TEXT: Final = "there is no text in the message to edit"


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


def _remember(memory: OrderedDict[K, V], key: K, value: V, limit: int) -> None:
    """Put ``key`` in a bounded memory, forgetting the least recently put beyond ``limit``."""
    memory[key] = value
    memory.move_to_end(key)
    if len(memory) > limit:
        memory.popitem(last=False)


def _as_update(raw: object) -> tuple[dict[str, Any], int] | None:
    """A raw update and its id; None for anything without one."""
    if isinstance(raw, dict):
        update_id = raw.get("update_id")
        if isinstance(update_id, int) and not isinstance(update_id, bool):
            return raw, update_id
    return None


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
        concurrency: int = DEFAULT_CONCURRENCY,
        backlog: int = DEFAULT_BACKLOG,
        chat_backlog: int = DEFAULT_CHAT_BACKLOG,
        poll_timeout: int = POLL_TIMEOUT,
        retry_delays: tuple[float, float] = (1.0, 30.0),
        drain_timeout: float = 10.0,
        webhook_timeout: float = WEBHOOK_TIMEOUT,
        repoll: float = REPOLL,
    ) -> None:
        """``retry_delays`` is the first and the longest wait after a failed getUpdates;
        ``drain_timeout`` bounds how long ``stop`` lets received updates finish;
        ``backlog`` caps the updates held in memory, ``chat_backlog`` those waiting in one chat
        (the rest wait at Telegram);
        ``webhook_timeout`` bounds how long a webhook request waits for its update's handling;
        ``repoll`` is how long new updates may wait at Telegram while older ones are handled.
        Button presses are answered on ``answers_request``, so sends never hold them up."""
        if settings.telegram_token is None:
            raise ValueError("KOLBOT_TELEGRAM_TOKEN is not set")
        token = settings.telegram_token.get_secret_value()
        TOKEN_FILTER.tokens.add(token)
        self._hook = _webhook(settings)
        self._commands = tuple(commands)
        self._updates_request = updates_request or AiohttpRequest(connections=1)
        self._answers_request = answers_request or AiohttpRequest(
            connections=8, read_timeout=2.0, connect_timeout=2.0, pool_timeout=1.0
        )
        self._bot = Bot(
            token,
            base_url=settings.telegram_base_url,
            request=request or AiohttpRequest(connections=concurrency + 16),
            get_updates_request=self._updates_request,
        )
        self._chats = ChatQueues(concurrency, backlog=backlog, chat_backlog=chat_backlog)
        self._intake = Intake()
        self._pacer = Pacer(
            rate=settings.telegram_rate,
            chat_rate=settings.telegram_chat_rate,
            chat_burst=settings.telegram_chat_burst,
            group_rate=settings.telegram_group_rate,
        )
        self._poll_timeout = poll_timeout
        self._retry_delays = retry_delays
        self._drain_timeout = drain_timeout
        self._webhook_timeout = webhook_timeout
        self._repoll = repoll
        self._on_update: UpdateHandler | None = None
        self._poller: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._accepting = False
        # Webhook requests waiting for their update: True once handled, False if it never was.
        self._waiters: dict[int, asyncio.Future[bool]] = {}
        self._answers: set[asyncio.Task[None]] = set()
        self._answered: OrderedDict[str, None] = OrderedDict()
        self._progress: OrderedDict[int, tuple[Outgoing, int]] = OrderedDict()
        self._photos: OrderedDict[tuple[ChatId, int], None] = OrderedDict()
        self._moved: OrderedDict[ChatId, int] = OrderedDict()
        self._closed = asyncio.Event()
        self._failure: BaseException | None = None

    @property
    def username(self) -> str:
        """The bot's @username, known once started."""
        return self._bot.username

    @property
    def pending(self) -> int:
        """Updates received and not yet handled: queued, running, or left at Telegram for a
        chat whose backlog is full."""
        return self._chats.pending + self._intake.deferred

    # Lifecycle ---------------------------------------------------------------------------

    async def start(self, on_update: UpdateHandler) -> None:
        """Check the token, publish the command menu, then receive in the background."""
        self._on_update = on_update
        try:
            await self._connect()
            await self._publish_commands()
            self._accepting = True
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
        """Stop receiving, let received updates finish (bounded), then close the client.

        What is left unhandled stays unconfirmed at Telegram, which delivers it again to the
        next process: from the same getUpdates offset, or by retrying a webhook answered 503.
        """
        self._accepting = False
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        await self._chats.close(self._drain_timeout)
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_result(False)
        self._waiters.clear()
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
        await self._answers_request.initialize()

    async def _release(self) -> None:
        """Free what ``start`` took, however far it got: the port too, so a retry can bind it."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._answers:
            await asyncio.gather(*self._answers, return_exceptions=True)
        await self._answers_request.shutdown()
        await self._bot.shutdown()

    async def _publish_commands(self) -> None:
        """The command menu in English for everyone, and in each language for its speakers."""
        commands = []
        for command in self._commands:
            if _COMMAND_NAME.fullmatch(command.name):
                commands.append(command)
            else:
                log.warning("/%s cannot be a Telegram command (a-z, 0-9, _)", command.name)
        languages: list[str | None] = [None, *LANGUAGES]
        await asyncio.gather(*(self._publish_menu(commands, code) for code in languages))

    async def _publish_menu(self, commands: list[Command], language: str | None) -> None:
        t = translator(language or DEFAULT_LANGUAGE)
        menu = [
            BotCommand(command.name, t._(command.description)[:_DESCRIPTION_LIMIT] or command.name)
            for command in commands
        ]
        for attempt in range(2):
            try:
                await self._bot.set_my_commands(menu, language_code=language)
                return
            except tg.RetryAfter as limited:
                wait = _retry_after(limited)
                if attempt == 0 and wait <= _MENU_WAIT_LIMIT:
                    await asyncio.sleep(wait)
                    continue
                error: tg.TelegramError = limited
            except tg.TelegramError as failure:
                error = failure
            # The menu is a convenience: typed commands work without it.
            log.warning("could not set the %s command menu: %s", language or "default", error)
            return

    # Receiving ---------------------------------------------------------------------------

    async def _poll(self) -> None:
        """Long-poll getUpdates until stopped; ``intake`` says what the offset confirms.

        Failures (network, 5xx, 429, a conflicting poller) wait and retry with backoff; only
        a revoked token ends polling, and ``wait_closed`` reports it.
        """
        failures = 0
        try:
            while True:
                await self._chats.room()
                try:
                    batch = await self._fetch(self._intake.offset())
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
                    self._take(batch)
                    if self._intake.unhandled:
                        await self._repoll_wait()
                    continue
                await asyncio.sleep(delay)
        except Exception as failure:
            log.error("telegram polling stopped: %s", failure)
            self._failure = failure
            self._closed.set()

    async def _repoll_wait(self) -> None:
        """While updates are unhandled, Telegram answers getUpdates at once with them instead of
        waiting for new ones: ask again when the offset moves, or after ``repoll`` seconds for
        newer ones. Each such call costs a round trip; a new update waits up to ``repoll``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._repoll):
                await self._intake.moved(self._intake.offset())

    async def _fetch(self, offset: int | None) -> list[object]:
        """The next updates as raw JSON, each decoded on its own later (see ``request.call``)."""
        parameters = {
            "offset": offset,
            "timeout": self._poll_timeout,
            "limit": FETCH_LIMIT,
            "allowed_updates": list(ALLOWED_UPDATES),
        }
        read_timeout = (self._updates_request.read_timeout or 0) + self._poll_timeout
        batch = await call(
            self._updates_request, self._url("getUpdates"), parameters, read_timeout=read_timeout
        )
        if not isinstance(batch, list):
            raise tg.NetworkError("getUpdates answered something other than a list")
        return batch

    def _take(self, batch: list[object]) -> None:
        """Queue what is new in a fetched batch, in order; a chat whose backlog is full leaves
        its updates at Telegram (in order too: none of its later ones jump ahead)."""
        full: set[str] = set()
        for item in batch:
            update = _as_update(item)
            if update is None:
                log.error("ignoring a telegram update without an update_id")
                continue
            raw, update_id = update
            if not self._intake.take(update_id):
                continue  # still held here from an earlier fetch
            read = self._read(raw, update_id)
            if read is None:
                self._intake.handled(update_id)
                continue
            incoming, answer = read
            chat = incoming.chat.chat_id
            if chat in full or not self._submit(update_id, incoming, answer):
                full.add(chat)
                if self._intake.defer(update_id):
                    log.warning(
                        "telegram chat backlog full; update %s waits at Telegram", update_id
                    )

    async def _on_webhook(self, request: web.Request) -> web.Response:
        """Check the secret, then answer once the update is handled (or failed and was logged):
        Telegram sends again what a crash interrupted. 503 tells it to send later."""
        assert self._hook is not None
        offered = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(offered, self._hook.secret.encode()):
            return web.Response(status=403)
        if not self._accepting:
            return web.Response(status=503)
        try:
            payload: Any = await request.json()
        except ValueError:
            payload = None
        update = _as_update(payload)
        if update is None:
            log.warning("ignoring a webhook request that is not an update")
            return web.Response(status=400)
        payload, update_id = update
        read = self._read(payload, update_id)
        if read is None:
            return web.Response()
        incoming, answer = read
        waiter = self._waiters.get(update_id)
        try:
            async with asyncio.timeout(self._webhook_timeout):
                if waiter is None:  # else Telegram sent it again while it is still here
                    # A full backlog holds Telegram's connection: it slows its deliveries down.
                    await self._chats.room()
                    await self._chats.chat_room(incoming.chat.chat_id)
                    waiter = asyncio.get_running_loop().create_future()
                    self._waiters[update_id] = waiter
                    self._submit(update_id, incoming, answer)  # there is room: nothing awaited
                handled = await asyncio.shield(waiter)
        except TimeoutError:
            if waiter is None:
                return web.Response(status=503)
            log.warning("telegram update %s is still being handled; answering anyway", update_id)
            return web.Response()
        return web.Response(status=200 if handled else 503)

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

    def _read(
        self, raw: dict[str, Any], update_id: int
    ) -> tuple[Incoming, asyncio.Task[None] | None] | None:
        """Decode an update and answer a button press at once; the core's view of it, or None
        when there is nothing to handle. A bad update is logged by its id alone: its contents
        are people's messages and names."""
        try:
            update = Update.de_json(raw, self._bot)
        except Exception as error:
            log.error(
                "ignoring telegram update %s: unreadable (%s)", update_id, type(error).__name__
            )
            return None
        answer = None
        if update.callback_query is not None:
            answer = self._answer(update.callback_query.id)
        try:
            incoming = to_incoming(update, self.username)
        except Exception as error:
            log.error("ignoring telegram update %s (%s)", update_id, type(error).__name__)
            return None
        return None if incoming is None else (incoming, answer)

    def _submit(
        self, update_id: int, incoming: Incoming, answer: asyncio.Task[None] | None
    ) -> bool:
        """Queue the update behind its chat's earlier ones (False: the chat's backlog is full);
        it is handled once the core sends its first reply (see ``send``) or is done with it."""

        async def handle() -> None:
            assert self._on_update is not None
            try:
                if answer is not None:
                    await answer  # the spinner stops before any reply, as Telegram expects
                await self._on_update(incoming)
            except Exception:
                self._handled(update_id)  # failed, and ChatQueues logs it
                raise
            self._handled(update_id)  # not when cancelled: then it was never handled

        return self._chats.submit(incoming.chat.chat_id, handle)

    def _handled(self, update_id: int) -> None:
        self._intake.handled(update_id)
        waiter = self._waiters.pop(update_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    def _answer(self, query_id: str) -> asyncio.Task[None] | None:
        if query_id in self._answered:
            return None
        _remember(self._answered, query_id, None, _ANSWERED_MEMORY)
        task = asyncio.create_task(self._answer_query(query_id))
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)
        return task

    async def _answer_query(self, query_id: str) -> None:
        """Answer on a connection pool of its own; once more after a 5xx or a short 429."""
        url = self._url("answerCallbackQuery")
        for attempt in range(2):
            try:
                await call(self._answers_request, url, {"callback_query_id": query_id})
                return
            except tg.RetryAfter as limited:
                wait = _retry_after(limited)
                if attempt or wait > _ANSWER_WAIT_LIMIT:
                    log.info("gave up answering a button press: rate limited for %.1fs", wait)
                    return
                await asyncio.sleep(wait)
            except (tg.BadRequest, tg.TimedOut, tg.Forbidden, tg.InvalidToken) as error:
                # Too old, answered before a restart, or maybe arrived: the press is handled.
                log.info("could not answer a button press: %s", error)
                return
            except tg.NetworkError as error:  # a 5xx or a dropped connection
                if attempt:
                    log.info("could not answer a button press: %s", error)
                    return
            except tg.TelegramError as error:
                log.info("could not answer a button press: %s", error)
                return

    def _url(self, method: str) -> str:
        return f"{self._bot.base_url}/{method}"

    # Sending -----------------------------------------------------------------------------

    async def send(self, message: Outgoing) -> str:
        """Send (or edit) one message as HTML with every character of its text escaped.

        Every call is paced under Telegram's limits and a 429 is waited out here, outside the
        concurrency slot, then the call repeated: RateLimited never reaches the core, whose
        wait would hold the slot.
        """
        update_id = replied_update(message.reply_token)
        if update_id is not None:
            self._handled(update_id)  # the core replies once it has saved the state change
        chat = _chat_id(message.chat)
        parts = plan(message)
        if not parts:
            raise BadRequest("a message needs text or an image")
        try:
            if message.edit_message_id is not None and len(parts) == 1 and not parts[0].photo:
                edited = await self._edit(chat, int(message.edit_message_id), parts[0])
                if edited is not None:
                    return edited
            return await self._send_parts(chat, message, parts)
        except tg.TelegramError as error:
            raise _translate(error) from error

    async def _api(self, chat: ChatId, request: Callable[[ChatId], Awaitable[T]]) -> T:
        """One call that puts something in ``chat``: paced, repeated after a 429 once it is
        waited out, and following a group that became a supergroup."""
        moves = 0
        while True:
            target = self._target(chat)
            await self._pacer.ready(target, self._chats.suspended)
            try:
                return await request(target)
            except tg.RetryAfter as limited:
                wait = _retry_after(limited)
                self._pacer.limited(target, wait)
                log.info("telegram rate limited sends to %s; waiting %.1fs", target, wait)
            except tg.ChatMigrated as moved:
                moves += 1
                if moves > _MOVES_PER_CALL:
                    raise
                # Stored addresses keep the old id; this process remembers the new one.
                log.warning("telegram chat %s became %s; sending there", target, moved.new_chat_id)
                _remember(self._moved, chat, moved.new_chat_id, _MOVED_MEMORY)

    def _target(self, chat: ChatId) -> ChatId:
        return self._moved.get(chat, chat)

    async def _send_parts(self, chat: ChatId, message: Outgoing, parts: list[Part]) -> str:
        key = id(message)
        resumed = self._progress.pop(key, None)
        first = resumed[1] if resumed is not None and resumed[0] is message else 0
        sent = 0
        for index in range(first, len(parts)):
            try:
                sent = await self._send_part(chat, parts[index])
            except tg.TelegramError:
                if index > 0:
                    _remember(self._progress, key, (message, index), _PROGRESS_MEMORY)
                raise
        return str(sent)

    async def _send_part(self, chat: ChatId, part: Part) -> int:
        if part.photo is not None:
            return await self._send_photo(chat, part)

        async def send_text(target: ChatId, text: str, mode: ParseMode | None) -> Message:
            return await self._bot.send_message(
                target, text, parse_mode=mode, reply_markup=part.markup
            )

        return (await self._html_or_plain(chat, send_text, part.text)).message_id

    async def _send_photo(self, chat: ChatId, part: Part) -> int:
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

        async def send_photo(target: ChatId, caption: str, mode: ParseMode | None) -> Message:
            return await self._bot.send_photo(
                target,
                photo,
                caption=caption or None,
                parse_mode=mode if caption else None,
                reply_markup=part.markup,
            )

        sent = await self._html_or_plain(chat, send_photo, part.text)
        _remember(self._photos, (self._target(chat), sent.message_id), None, _PHOTO_MEMORY)
        return sent.message_id

    async def _edit(self, chat: ChatId, message_id: int, part: Part) -> str | None:
        """Edit in place (a photo's caption); None when the message cannot be edited and a new
        one should go."""
        try:
            if (self._target(chat), message_id) in self._photos:
                await self._edit_caption(chat, message_id, part)
            else:
                try:
                    await self._edit_text(chat, message_id, part)
                except tg.BadRequest as error:
                    if _NO_TEXT not in error.message.lower():
                        raise
                    # A photo this process did not send (or has forgotten).
                    key = (self._target(chat), message_id)
                    _remember(self._photos, key, None, _PHOTO_MEMORY)
                    await self._edit_caption(chat, message_id, part)
        except tg.BadRequest as error:
            if "message is not modified" in error.message.lower():
                return str(message_id)  # a double press: what it shows is already right
            log.info("cannot edit message %s in %s (%s); sending anew", message_id, chat, error)
            return None
        return str(message_id)

    async def _edit_text(self, chat: ChatId, message_id: int, part: Part) -> None:
        async def edit(target: ChatId, text: str, mode: ParseMode | None) -> None:
            await self._bot.edit_message_text(
                text,
                chat_id=target,
                message_id=message_id,
                parse_mode=mode,
                reply_markup=part.markup,
            )

        await self._html_or_plain(chat, edit, part.text)

    async def _edit_caption(self, chat: ChatId, message_id: int, part: Part) -> None:
        if utf16_length(part.text) > CAPTION_LIMIT:
            raise tg.BadRequest("the new text is too long for a caption")

        async def edit(target: ChatId, caption: str, mode: ParseMode | None) -> None:
            await self._bot.edit_message_caption(
                chat_id=target,
                message_id=message_id,
                caption=caption,
                parse_mode=mode,
                reply_markup=part.markup,
            )

        await self._html_or_plain(chat, edit, part.text)

    async def _html_or_plain(
        self,
        chat: ChatId,
        request: Callable[[ChatId, str, ParseMode | None], Awaitable[T]],
        text: str,
    ) -> T:
        """Send the text escaped as HTML; should Telegram still fail to parse it, send the same
        words without a parse mode rather than not at all."""
        try:
            return await self._api(
                chat, lambda target: request(target, escape(text), ParseMode.HTML)
            )
        except tg.BadRequest as error:
            if not _is_parse_error(error):
                raise
            log.warning("telegram could not parse escaped HTML (%s); sending plain text", error)
            return await self._api(chat, lambda target: request(target, text, None))
