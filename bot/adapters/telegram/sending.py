"""Sending to Telegram: HTML with every character escaped, paced under Telegram's limits.

A 429 is not waited out here: the pacer learns of it (so no later send to that chat, or to
any chat when it is bot-wide, goes early) and the core's delivery policy gets RateLimited, so
the outbox decides what waits. A message split in parts resumes after the parts already sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final, TypeVar

from telegram import Bot, InlineKeyboardMarkup, InputFile, Message
from telegram import error as tg
from telegram.constants import ParseMode
from telegram.request import BaseRequest

from bot.adapters.telegram.inbound import PLATFORM
from bot.adapters.telegram.menus import retry_after
from bot.adapters.telegram.pacing import ChatId, Pacer, is_group
from bot.adapters.telegram.render import CAPTION_LIMIT, Part, escape, plan, utf16_length
from bot.adapters.telegram.request import ON_WIRE, AnswerLost, call, may_have_arrived
from bot.core.lru import Lru
from bot.core.messages import ChatRef, Outgoing
from bot.core.outbox import lend_slot, sending_urgently
from bot.core.platform import BadRequest, RateLimited, SendError, Transient, Unreachable

log = logging.getLogger(__name__)

T = TypeVar("T")

# Messages sent as photos, whose text is edited as a caption.
_PHOTO_MEMORY: Final = 10_000
# Groups that became supergroups (old id → new), so later sends go straight to the new id.
_MOVED_MEMORY: Final = 10_000
_MOVES_PER_CALL: Final = 3
_NO_TEXT: Final = "there is no text in the message to edit"
# A chat no send ever targets: its pause can only be the bot-wide one.
_NO_CHAT: Final = 0


def chat_id(chat: ChatRef) -> ChatId:
    if chat.platform != PLATFORM:
        raise BadRequest(f"{chat} is not a Telegram chat")
    return int(chat.chat_id) if chat.chat_id.lstrip("-").isdigit() else chat.chat_id


def _is_parse_error(error: tg.BadRequest) -> bool:
    return "can't parse entities" in error.message.lower()


class Sender:
    def __init__(self, bot: Bot, pacer: Pacer, request: BaseRequest) -> None:
        self._bot = bot
        self._pacer = pacer
        self._request = request
        self._send_url = f"{bot.base_url}/sendMessage"
        self._edit_text_url = f"{bot.base_url}/editMessageText"
        self._edit_caption_url = f"{bot.base_url}/editMessageCaption"
        self._photos: Lru[tuple[ChatId, int], None] = Lru(_PHOTO_MEMORY)
        self._moved: Lru[ChatId, int] = Lru(_MOVED_MEMORY)

    async def send(self, message: Outgoing, first_part: int = 0) -> str:
        chat = chat_id(message.chat)
        if message.private_reply and is_group(chat):
            # A bot cannot whisper in a Telegram group: never post it for everyone to read.
            raise BadRequest(f"a private reply cannot go to the group {message.chat}")
        parts = plan(message)
        if not parts:
            raise BadRequest("a message needs text or an image")
        if message.edit_message_id is not None and len(parts) == 1 and not parts[0].photo:
            try:
                edited = await self._edit(chat, int(message.edit_message_id), parts[0])
            except tg.TelegramError as error:
                raise self._translate(error) from error
            if edited is not None:
                return edited
        sent = 0
        for index in range(min(first_part, len(parts) - 1), len(parts)):
            try:
                sent = await self._send_part(chat, parts[index])
            except tg.TelegramError as error:
                failure = self._translate(error)
                failure.parts_sent = index
                raise failure from error
        return str(sent)

    def _translate(self, error: tg.TelegramError) -> SendError:
        """The core's SendError for a Bot API failure; the delivery policy decides the rest."""
        if isinstance(error, tg.RetryAfter):
            bot_wide = self._pacer.paused(_NO_CHAT) > 0
            return RateLimited(retry_after(error), bot_wide=bot_wide)
        if isinstance(error, tg.Forbidden):
            return Unreachable(error.message)
        if isinstance(error, tg.ChatMigrated):
            return BadRequest(f"the group moved to chat {error.new_chat_id}")
        if isinstance(error, tg.BadRequest):  # a subclass of NetworkError: test it first
            return BadRequest(error.message)
        return Transient(error.message, may_have_arrived=may_have_arrived(error))

    async def _api(self, chat: ChatId, request: Callable[[ChatId], Awaitable[T]]) -> T:
        """One call that puts something in ``chat``: paced, and following a group that became
        a supergroup. A 429 tells the pacer and goes up."""
        moves = 0
        while True:
            target = self._target(chat)
            async with self._pacer.turn(target, lend_slot, urgent=sending_urgently()) as on_wire:
                wire = ON_WIRE.set(on_wire)
                try:
                    return await request(target)
                except tg.RetryAfter as limited:
                    wait = retry_after(limited)
                    self._pacer.limited(target, wait)
                    log.info("telegram rate limited sends to %s for %.1fs", target, wait)
                    raise
                except tg.ChatMigrated as moved:
                    moves += 1
                    if moves > _MOVES_PER_CALL:
                        raise
                    # Stored addresses keep the old id; this process remembers the new one.
                    log.warning(
                        "telegram chat %s became %s; sending there", target, moved.new_chat_id
                    )
                    self._moved.put(chat, moved.new_chat_id)
                finally:
                    ON_WIRE.reset(wire)

    def _target(self, chat: ChatId) -> ChatId:
        return self._moved.get(chat, chat)

    async def _send_part(self, chat: ChatId, part: Part) -> int:
        if part.photo is not None:
            return await self._send_photo(chat, part)

        async def send_text(target: ChatId, text: str, mode: ParseMode | None) -> int:
            # The hot path of every broadcast: the Bot API's JSON as it is, not decoded into
            # a python-telegram-bot Message (which costs more CPU than the rest of the send).
            sent = await call(
                self._request,
                self._send_url,
                {
                    "chat_id": target,
                    "text": text,
                    "parse_mode": mode,
                    "reply_markup": part.markup,
                },
            )
            if not isinstance(sent, dict) or not isinstance(sent.get("message_id"), int):
                raise AnswerLost("sendMessage answered without a message_id")
            message_id: int = sent["message_id"]
            return message_id

        return await self._html_or_plain(chat, send_text, part.text)

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

        markup = InlineKeyboardMarkup.de_json(part.markup, self._bot) if part.markup else None

        async def send_photo(target: ChatId, caption: str, mode: ParseMode | None) -> Message:
            return await self._bot.send_photo(
                target,
                photo,
                caption=caption or None,
                parse_mode=mode if caption else None,
                reply_markup=markup,
            )

        sent = await self._html_or_plain(chat, send_photo, part.text)
        self._photos.put((self._target(chat), sent.message_id), None)
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
                    self._photos.put(key, None)
                    await self._edit_caption(chat, message_id, part)
        except tg.BadRequest as error:
            if "message is not modified" in error.message.lower():
                return str(message_id)  # a double press: what it shows is already right
            log.info("cannot edit message %s in %s (%s); sending anew", message_id, chat, error)
            return None
        return str(message_id)

    async def _edit_text(self, chat: ChatId, message_id: int, part: Part) -> None:
        await self._edit_with(self._edit_text_url, "text", chat, message_id, part)

    async def _edit_caption(self, chat: ChatId, message_id: int, part: Part) -> None:
        if utf16_length(part.text) > CAPTION_LIMIT:
            raise tg.BadRequest("the new text is too long for a caption")
        await self._edit_with(self._edit_caption_url, "caption", chat, message_id, part)

    async def _edit_with(
        self, url: str, field: str, chat: ChatId, message_id: int, part: Part
    ) -> None:
        """An edit's answer (the edited Message) is not needed: it is not decoded."""

        async def edit(target: ChatId, text: str, mode: ParseMode | None) -> None:
            await call(
                self._request,
                url,
                {
                    "chat_id": target,
                    "message_id": message_id,
                    field: text,
                    "parse_mode": mode,
                    "reply_markup": part.markup,
                },
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
