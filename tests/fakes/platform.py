"""A platform that records what the core sends and plays a person pressing and typing.

Like errbot's test backend: events go through the whole stack (dispatcher, router, flows,
SQLite) and come back as Outgoing messages we can read.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.core.messages import Button, ChatRef, Incoming, Outgoing, UserRef
from bot.core.platform import SendError, UpdateSink

# Like a platform's own update ids: unique across users and restarts.
_UPDATE_IDS = itertools.count(1)


class FakePlatform:
    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.sent: list[Outgoing] = []
        self.failures: list[SendError] = []
        # Every call to send: when the core chose to make it, what, from which part.
        self.attempts: list[tuple[float, Outgoing, int]] = []
        self._ids = itertools.count(1)
        self._sink: UpdateSink | None = None
        self.started = asyncio.Event()
        # The app's run serving this platform, when a test runs one.
        self.serving: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    @property
    def identity(self) -> str:
        return self.name

    async def start(self, sink: UpdateSink) -> None:
        self._sink = sink
        self.started.set()

    async def stop(self) -> None:
        self._sink = None
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def send(self, message: Outgoing, *, first_part: int = 0) -> str:
        self.attempts.append((asyncio.get_running_loop().time(), message, first_part))
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return str(next(self._ids))

    async def feed(self, incoming: Incoming) -> None:
        """Hand an event in and wait until it is handled and its replies went out."""
        assert self._sink is not None, "platform not started"
        await self._sink.handle(self.identity, incoming)


class CallbackSink:
    """Hands every event to one function instead of the core: an adapter tested alone."""

    def __init__(self, on_update: Callable[[Incoming], Awaitable[None]]) -> None:
        self._on_update = on_update

    async def accept(self, source: str, updates: Sequence[Incoming]) -> None:
        for update in updates:
            await self._on_update(update)

    async def handle(self, source: str, update: Incoming) -> None:
        await self._on_update(update)

    def settled(self, source: str, update_id: str) -> asyncio.Future[None]:
        """Done at once: the function ran by the time ``accept`` returned."""
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def send_due(self, platform: str) -> None:
        """Nothing is queued: the function is all there is."""


@dataclass
class Person:
    """One user in one private chat on a FakePlatform."""

    platform: FakePlatform
    user_id: str = "1"
    display_name: str | None = "Anna"
    language_hint: str | None = None
    is_private: bool = True
    chat_id: str | None = None

    @property
    def chat(self) -> ChatRef:
        return ChatRef(platform=self.platform.name, chat_id=self.chat_id or self.user_id)

    @property
    def user(self) -> UserRef:
        return UserRef(
            platform=self.platform.name,
            user_id=self.user_id,
            display_name=self.display_name,
            language_hint=self.language_hint,
        )

    @property
    def inbox(self) -> list[Outgoing]:
        return [message for message in self.platform.sent if message.chat == self.chat]

    @property
    def last(self) -> Outgoing:
        assert self.inbox, "nothing was sent to this chat"
        return self.inbox[-1]

    @property
    def last_text(self) -> str:
        return self.last.text

    async def say(self, text: str) -> list[Outgoing]:
        """Type a line: a command when it starts with a slash."""
        before = len(self.inbox)
        if text.startswith("/"):
            command, _, args = text[1:].partition(" ")
            incoming = self._incoming(kind="command", text=text, command=command, args=args)
        else:
            incoming = self._incoming(kind="text", text=text)
        await self.platform.feed(incoming)
        return self.inbox[before:]

    async def press(self, label: str) -> list[Outgoing]:
        """Press the button (or toggle the option) with this label on the latest choices."""
        message = self._latest_with_choices()
        if label not in self.labels(message):
            raise AssertionError(f"no button {label!r}; last message: {message.text!r}")
        return await self._press(message, self._data_for(message, label))

    async def press_data(self, data: str) -> list[Outgoing]:
        """Press by button data on the latest message with choices, whatever its language."""
        message = self._latest_with_choices()
        known = {b.data for b in self.buttons(message)}
        if message.multiselect is not None:
            known |= {message.multiselect.toggle_data(o) for o in message.multiselect.options}
        if data not in known:
            raise AssertionError(f"no button with data {data!r}; last: {message.text!r}")
        return await self._press(message, data)

    async def press_stale(self, data: str) -> list[Outgoing]:
        """Press a button of an earlier message, as people scrolling back do."""
        for message in reversed(self.inbox):
            if data in {b.data for b in self.buttons(message)}:
                return await self._press(message, data)
        raise AssertionError(f"no earlier button with data {data!r}")

    async def press_forged(self, data: str) -> list[Outgoing]:
        """A press with data no message carried, as a client that edits button data sends."""
        before = len(self.inbox)
        await self.platform.feed(self._incoming(kind="button", button_data=data, message_id="1"))
        return self.inbox[before:]

    async def _press(self, message: Outgoing, data: str) -> list[Outgoing]:
        before = len(self.inbox)
        await self.platform.feed(
            self._incoming(
                kind="button", button_data=data, message_id=str(self.inbox.index(message) + 1)
            )
        )
        return self.inbox[before:]

    def _latest_with_choices(self) -> Outgoing:
        for message in reversed(self.inbox):
            if message.buttons or message.multiselect:
                return message
        raise AssertionError("no message with buttons was sent")

    def buttons(self, message: Outgoing | None = None) -> list[Button]:
        message = message or self.last
        return [button for row in message.buttons for button in row]

    def labels(self, message: Outgoing | None = None) -> list[str]:
        message = message or self.last
        options = [o.label for o in message.multiselect.options] if message.multiselect else []
        return options + [button.label for button in self.buttons(message)]

    @staticmethod
    def _data_for(message: Outgoing, label: str) -> str:
        if message.multiselect is not None:
            for option in message.multiselect.options:
                if option.label == label:
                    return message.multiselect.toggle_data(option)
        for row in message.buttons:
            for button in row:
                if button.label == label and button.data is not None:
                    return button.data
        raise AssertionError(f"{label!r} is not a data button")

    def _incoming(self, **fields: object) -> Incoming:
        return Incoming(
            chat=self.chat,
            user=self.user,
            is_private=self.is_private,
            update_id=str(next(_UPDATE_IDS)),
            **fields,
        )
