"""Everything a handler needs about one event, and where its replies collect."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.core.messages import Button, Image, Incoming, MultiSelect, Outgoing
from bot.i18n import DEFAULT_LANGUAGE, Translator, normalize_language, translator
from bot.services import Services
from storage.base import UnitOfWork
from storage.models import Conversation, ConversationKey, Person

if TYPE_CHECKING:
    from bot.core.router import Router


class Context:
    def __init__(
        self,
        incoming: Incoming,
        services: Services,
        uow: UnitOfWork,
        person: Person | None,
        conversation: Conversation | None,
        *,
        router: Router,
        expired: Conversation | None = None,
    ) -> None:
        self.incoming = incoming
        self.services = services
        # The one transaction this event runs in: every read sees its writes, and nothing
        # written stays unless the whole event succeeds.
        self.uow = uow
        self.person = person
        self.conversation = conversation
        self.had_conversation = conversation is not None
        # Every command the bot offers, for /help.
        self.router = router
        # The conversation that timed out just before this event, to tell the person so.
        self.expired = expired
        self.replies: list[Outgoing] = []

    @property
    def key(self) -> ConversationKey:
        return conversation_key(self.incoming)

    @property
    def language(self) -> str:
        """The person's language, else the one chosen mid-signup, else the platform's hint."""
        if self.person is not None:
            return self.person.language
        if self.conversation is not None and self.conversation.data.get("lang"):
            return str(self.conversation.data["lang"])
        return normalize_language(self.incoming.user.language_hint) or DEFAULT_LANGUAGE

    @property
    def t(self) -> Translator:
        return translator(self.language)

    def _(self, message: str, /, **params: object) -> str:
        return self.t._(message, **params)

    @property
    def data(self) -> dict[str, Any]:
        if self.conversation is None:
            raise RuntimeError("no conversation in progress")
        return self.conversation.data

    def start(self, flow: str, step: str, data: dict[str, Any] | None = None) -> None:
        self.conversation = Conversation(key=self.key, flow=flow, step=step, data=data or {})

    def finish(self) -> None:
        self.conversation = None

    def reply(
        self,
        text: str,
        *,
        buttons: tuple[tuple[Button, ...], ...] = (),
        multiselect: MultiSelect | None = None,
        image: Image | None = None,
        edit: bool = False,
        private: bool = False,
    ) -> None:
        """Queue a message to this chat; ``edit`` replaces the message whose button was pressed."""
        incoming = self.incoming
        edit_id = incoming.message_id if edit and incoming.kind == "button" else None
        self.replies.append(
            Outgoing(
                chat=incoming.chat,
                text=text,
                buttons=buttons,
                multiselect=multiselect,
                image=image,
                edit_message_id=edit_id,
                reply_token=incoming.reply_token,
                private_reply=private,
            )
        )


def conversation_key(incoming: Incoming) -> ConversationKey:
    return ConversationKey(
        platform=incoming.chat.platform, chat=incoming.chat.chat_id, user=incoming.user.user_id
    )
