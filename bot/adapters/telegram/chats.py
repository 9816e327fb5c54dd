"""What Telegram says about a group or channel: who administers it, and which chat a public
@name is. The checks before an agency links a chat as a broadcast target."""

from __future__ import annotations

import logging
from typing import Any, Final

from telegram import error as tg
from telegram.request import BaseRequest

from bot.adapters.telegram.inbound import PLATFORM
from bot.adapters.telegram.request import call
from bot.core.messages import ChatRef
from bot.core.platform import ChatInfo

log = logging.getLogger(__name__)

ADMIN_STATUSES: Final = frozenset({"creator", "administrator"})
_KINDS: Final = {"group": "group", "supergroup": "group", "channel": "channel"}


class ChatQuestions:
    def __init__(self, request: BaseRequest, base_url: str, bot_id: str) -> None:
        self._request = request
        self._base_url = base_url
        self._bot_id = bot_id

    async def is_chat_admin(self, chat: ChatRef, user_id: str) -> bool:
        """getChatMember: the creator or an administrator; anything else (a member, someone
        gone, a chat the bot cannot see) is not."""
        member = await self._ask(
            "getChatMember",
            {"chat_id": chat.chat_id, "user_id": self._bot_id if user_id == "self" else user_id},
        )
        return isinstance(member, dict) and member.get("status") in ADMIN_STATUSES

    async def find_chat(self, name: str) -> ChatInfo | None:
        """getChat on a public @name; private chats are none of an agency's targets."""
        found = await self._ask("getChat", {"chat_id": name})
        if not isinstance(found, dict) or found.get("type") not in _KINDS:
            return None
        return ChatInfo(
            chat=ChatRef(platform=PLATFORM, chat_id=str(found["id"])),
            title=str(found.get("title") or name),
            kind="channel" if found["type"] == "channel" else "group",
        )

    async def _ask(self, method: str, parameters: dict[str, object]) -> Any:
        try:
            return await call(self._request, f"{self._base_url}/{method}", parameters)
        except tg.TelegramError as error:
            # Telegram says 400 for a chat or user it does not know, 403 for one it left.
            log.info("telegram %s refused: %s", method, error.message)
            return None
