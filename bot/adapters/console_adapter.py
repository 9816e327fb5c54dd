"""Chat on stdin/stdout as one person at a time, so the bot can be tried with no token.

Buttons print as numbered choices; typing the number or the label presses it. The numbers run
on from card to card across what is on the screen (the replies to one line and whatever
arrives after them), so a number presses the button of the card that showed it, and a card
shown again after a press keeps its numbers. ``/as NAME`` speaks as another person, with an
account of their own, so an agency admin and an influencer can be tried on one database.
Works on a terminal and piped (``printf '/start\\n1\\n' | kolbot run``); end of input or /quit
ends it, once what is due for the console (a rejection the CLI queued meanwhile) is shown.
Every start is an empty screen, so the core is told so first ("opened") and asks an unfinished
conversation's question again, choices and all, before a line is read. Input is read as bytes
and decoded with replacement: a stray byte becomes one odd character, never a dead reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import logging
import os
import re
import secrets
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from bot.core.inbox import NotAccepting
from bot.core.messages import ChatRef, Incoming, Outgoing, UserRef
from bot.core.platform import UpdateSink
from bot.i18n import N_, normalize_language, translator
from storage.base import StorageUnavailable

log = logging.getLogger(__name__)

QUIT = "/quit"
SPEAK_AS = "as"
# The person every start speaks as, unless /as names another; their chat is console:local.
FIRST_PERSON = "local"
# A name /as takes: one word, which (case folded) is the person's user id and chat id.
NAME = re.compile(r"[\w.-]{1,32}")
READ_SIZE = 65536

SPEAKING_AS = N_(
    "Speaking as {name}. Send /as NAME to speak as someone else (each name is a person of "
    "their own), or /as local to be the first person again."
)
BAD_NAME = N_(
    "A name for /as is one word of letters, digits, dots, dashes or underscores, at most 32 "
    "characters."
)
FOR_SOMEONE_ELSE = N_("For {name} (send /as {name} to answer as them):")
WHICH_ONE = N_(
    "More than one choice on the screen is called “{label}”: type the number of the one you mean."
)


@dataclass(frozen=True, slots=True)
class _Choice:
    number: str
    label: str
    data: str
    message_id: str


class _Screen:
    """The numbered choices on the screen, card by card (a card is one message): a number
    belongs to one card only, and a label presses a button only while no other button on the
    screen has it too."""

    def __init__(self) -> None:
        self._cards: dict[str, list[_Choice]] = {}

    def clear(self) -> None:
        self._cards.clear()

    def shows(self, message_id: str | None) -> bool:
        return message_id is not None and message_id in self._cards

    def place(self, message_id: str, choices: Sequence[tuple[str, str]]) -> list[_Choice]:
        """Number a card's (label, data) choices. A card shown again (edited) keeps its
        numbers; further choices take numbers after every one in use, so a number seen above
        never comes to mean another card's choice while that card is still on the screen."""
        own = [choice.number for choice in self._cards.pop(message_id, [])]
        used = [int(choice.number) for card in self._cards.values() for choice in card]
        following = itertools.count(max([*used, *map(int, own), 0]) + 1)
        placed = [
            _Choice(own.pop(0) if own else str(next(following)), label, data, message_id)
            for label, data in choices
        ]
        if placed:
            self._cards[message_id] = placed
        return placed

    def find(self, typed: str) -> list[_Choice]:
        """The choice with this number, else every choice of a different button with this
        label."""
        choices = [choice for card in self._cards.values() for choice in card]
        for choice in choices:
            if choice.number == typed:
                return [choice]
        named: dict[str, _Choice] = {}
        for choice in choices:
            if choice.label.casefold() == typed.casefold():
                named.setdefault(choice.data, choice)
        return list(named.values())


class ConsolePlatform:
    name = "console"
    own_commands = (
        (QUIT[1:], N_("Leave the chat")),
        (SPEAK_AS, N_("Speak as another person: /as NAME")),
    )

    def __init__(
        self,
        stdin: io.BufferedIOBase | None = None,
        stdout: TextIO | None = None,
        *,
        user_name: str | None = None,
        language_hint: str | None = None,
        encoding: str | None = None,
    ) -> None:
        # The process's own standard input is opened at start, not here: building the platform
        # (``kolbot check`` does) must not need a readable stdin.
        self._stdin = stdin
        self._encoding = encoding
        self._stdout = stdout or sys.stdout
        self._interactive = stdin is not None and stdin.isatty()
        self._user_name = user_name
        self._language_hint = language_hint or os.environ.get("LANG", "").split(".")[0] or None
        # What the console says itself, in the terminal's language.
        self._t = translator(normalize_language(self._language_hint))
        self._user = self._person(FIRST_PERSON)
        self._screen = _Screen()
        # What came for someone else with choices, by their chat: shown to them, numbered,
        # when the console speaks as them.
        self._waiting: dict[str, dict[str, Outgoing]] = {}
        # Handling the person's line: what is sent now answers it, and the first of it starts
        # a new screen (``_fresh``). Anything else (an approval, an offer) arrives on its own
        # and is numbered on from the cards on the screen.
        self._answering = False
        self._fresh = False
        # The lines read, while the chat runs; None in it ends the chat.
        self._lines: asyncio.Queue[str | None] | None = None
        # Whoever read the output has gone (``kolbot run | head``).
        self._output_closed = False
        # Waiting at the prompt on a terminal: what is sent meanwhile goes below it, and a
        # stop (Ctrl-D, Ctrl-C) leaves the shell's prompt a line of its own.
        self._at_prompt = False
        # Message ids are unique across runs too: an edit a job sends for a card of an
        # earlier run must not take the place of a card on this screen.
        self._run = secrets.token_hex(4)
        self._message_ids = itertools.count(1)
        self._closed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def identity(self) -> str:
        return self.name

    async def start(self, sink: UpdateSink) -> None:
        self._task = asyncio.create_task(self._serve(sink), name="console")

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()
        if self._task is not None and self._task.done() and not self._task.cancelled():
            self._task.result()

    async def send(self, message: Outgoing, *, first_part: int = 0) -> str:
        # An edit is the same message shown again, as a platform's edit keeps its id.
        message_id = message.edit_message_id or f"{self._run}-{next(self._message_ids)}"
        entries = _entries(message)
        lines = [message.text]
        if message.chat.chat_id != self._user.user_id:
            # Someone else's (the console speaks as one person at a time): shown, with its
            # choices, which only they can press once the console speaks as them.
            lines.insert(0, self._t._(FOR_SOMEONE_ELSE, name=message.chat.chat_id))
            lines += [
                f"  {shown}" if data is None else f"  - {shown}" for shown, _, data in entries
            ]
            waiting = self._waiting.setdefault(message.chat.chat_id, {})
            waiting.pop(message_id, None)
            if any(pressed is not None for _, _, pressed in entries):
                waiting[message_id] = message
            self._show(lines)
            return message_id
        self._show_own(message, message_id, entries)
        return message_id

    def _show_own(
        self, message: Outgoing, message_id: str, entries: list[tuple[str, str, str | None]]
    ) -> None:
        """A message to the person speaking, its choices numbered on their screen."""
        lines = [message.text]
        if self._answering and self._fresh:
            # The first reply to a line starts a new screen, unless it shows a card of this
            # screen again: then the cards around it keep their numbers.
            self._fresh = False
            if not self._screen.shows(message.edit_message_id):
                self._screen.clear()
        choices = [(label, pressed) for _, label, pressed in entries if pressed is not None]
        numbers = iter(self._screen.place(message_id, choices))
        for shown, _, pressed in entries:
            lines.append(f"  {shown}" if pressed is None else f"  {next(numbers).number}) {shown}")
        self._show(lines)

    def _show(self, lines: list[str]) -> None:
        if self._at_prompt:
            # Sent while the person was not answering (an approval, an offer): below the
            # prompt, which then comes again.
            self._write("\n" + "\n".join(lines) + "\n\n" + self._prompt())
        else:
            self._write("\n".join(lines) + "\n\n")

    def _prompt(self) -> str:
        """Where a line is typed; it names who speaks, once that is not the first person."""
        user = self._user.user_id
        return "> " if user == FIRST_PERSON else f"{user}> "

    def _person(self, name: str) -> UserRef:
        user_id = name.casefold()
        return UserRef(
            platform=self.name,
            user_id=user_id,
            display_name=self._user_name if user_id == FIRST_PERSON else name,
            language_hint=self._language_hint,
        )

    @property
    def _chat(self) -> ChatRef:
        """Each person's own chat: what is sent to them is told apart from the rest."""
        return ChatRef(platform=self.name, chat_id=self._user.user_id)

    async def _serve(self, sink: UpdateSink) -> None:
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._lines = lines
        if self._stdin is None:
            self._stdin = _standard_input()
            self._interactive = self._stdin.isatty()
        stdin = self._stdin
        encoding = self._encoding or sys.stdin.encoding or "utf-8"
        try:
            opened = Incoming(kind="opened", chat=self._chat, user=self._user)
            if not await self._hand_over(sink, opened):
                return
            # A daemon thread: a blocked read never holds up shutdown.
            threading.Thread(
                target=self._read,
                args=(stdin, encoding, asyncio.get_running_loop(), lines),
                name="console-stdin",
                daemon=True,
            ).start()
            if await self._converse(sink, lines) and not self._output_closed:
                self._leave_prompt()
                await self._deliver_due(sink)
        finally:
            self._leave_prompt()
            self._closed.set()

    async def _converse(self, sink: UpdateSink, lines: asyncio.Queue[str | None]) -> bool:
        """Answer line after line; True once the person is done (end of input, /quit), False
        when the bot is stopping."""
        while True:
            if self._interactive:
                self._write(self._prompt())
                self._at_prompt = True
            line = await lines.get()
            if line is None:
                return True
            self._at_prompt = False
            text = line.rstrip("\r\n")
            if not self._interactive:
                self._write(f"{self._prompt()}{text}\n")
            elif not line.endswith("\n"):
                self._write("\n")  # a line ended by Ctrl-D: the reply goes below it
            stripped = text.strip()
            if stripped == QUIT:
                return True
            command, _, name = stripped.partition(" ")
            if command.lower() == f"/{SPEAK_AS}":
                if not await self._speak_as(sink, name.strip()):
                    return False
                continue
            # Spaces alone are an answer too (a blank name gets told why); only an empty
            # line is nothing.
            if not text:
                continue
            incoming = self._incoming(text)
            if incoming is not None and not await self._hand_over(sink, incoming):
                return False

    async def _speak_as(self, sink: UpdateSink, name: str) -> bool:
        """From now on, type as the person ``name``; their screen starts empty. False: the
        bot is stopping."""
        if name and NAME.fullmatch(name) is None:
            self._show([self._t._(BAD_NAME)])
            return True
        if name:
            self._user = self._person(name)
            self._screen.clear()
        self._show([self._t._(SPEAKING_AS, name=self._user.user_id)])
        if not name:
            return True
        going_on = await self._hand_over(
            sink, Incoming(kind="opened", chat=self._chat, user=self._user)
        )
        # After what opening their chat says (a new screen): theirs to press now.
        for message_id, message in self._waiting.pop(self._user.user_id, {}).items():
            self._show_own(message, message_id, _entries(message))
        return going_on

    async def _hand_over(self, sink: UpdateSink, incoming: Incoming) -> bool:
        """Handle one event; its replies are printed before this returns. False: stopping."""
        self._answering = True
        self._fresh = True
        try:
            await sink.handle(self.identity, incoming)
        except NotAccepting:
            return False
        except StorageUnavailable as error:
            log.warning("could not take that line now: %s", error)
        finally:
            self._answering = False
        return True

    async def _deliver_due(self, sink: UpdateSink) -> None:
        """Show what is due for the console before the chat ends: what another process
        queued meanwhile (a rejection made with the CLI) would otherwise wait for the next
        run, a piped one being over before the outbox looks for it."""
        try:
            await sink.send_due(self.name)
        except StorageUnavailable as error:
            log.warning("could not send what is due now: %s", error)

    def _leave_prompt(self) -> None:
        if self._at_prompt:
            self._write("\n")
            self._at_prompt = False

    def _read(
        self,
        stdin: io.BufferedIOBase,
        encoding: str,
        loop: asyncio.AbstractEventLoop,
        lines: asyncio.Queue[str | None],
    ) -> None:
        """Pass on each line read, and None at the end of input or when reading fails.

        On a terminal a read ends at a newline or at Ctrl-D, and a line ended by Ctrl-D is
        passed on as it is, as a terminal program answers it; piped input is split at
        newlines."""

        def put(raw: bytes | None) -> None:
            text = None if raw is None else raw.decode(encoding, errors="replace")
            loop.call_soon_threadsafe(lines.put_nowait, text)

        pending = b""
        try:
            while chunk := stdin.read1(READ_SIZE):
                *complete, pending = (pending + chunk).split(b"\n")
                for line in complete:
                    put(line + b"\n")
                if pending and self._interactive:
                    put(pending)
                    pending = b""
            if pending:
                put(pending)
        except Exception:
            log.exception("could not read standard input")
        finally:
            put(None)

    def _incoming(self, text: str) -> Incoming | None:
        """What the line means; None when it names a choice of more than one card (the
        person is asked for its number)."""
        stripped = text.strip()
        chat, user = self._chat, self._user
        if stripped.startswith("/") and len(stripped) > 1:
            command, _, args = stripped[1:].partition(" ")
            return Incoming(
                kind="command",
                chat=chat,
                user=user,
                text=stripped,
                command=command.lower(),
                args=args.strip(),
            )
        found = self._screen.find(stripped)
        if len(found) > 1:
            self._show([self._t._(WHICH_ONE, label=stripped)])
            return None
        if found:
            return Incoming(
                kind="button",
                chat=chat,
                user=user,
                button_data=found[0].data,
                message_id=found[0].message_id,
            )
        return Incoming(kind="text", chat=chat, user=user, text=text)

    def _write(self, text: str) -> None:
        if self._output_closed:
            return
        try:
            self._stdout.write(text)
            self._stdout.flush()
        except BrokenPipeError:
            # No one reads the answers any more: the chat ends, as at the end of its input.
            self._output_closed = True
            _silence(self._stdout)
            if self._lines is not None:
                self._lines.put_nowait(None)


def _entries(message: Outgoing) -> list[tuple[str, str, str | None]]:
    """What a message offers, in order: (as printed, label, data); data is None for a link."""
    entries: list[tuple[str, str, str | None]] = []
    if message.multiselect is not None:
        for option in message.multiselect.options:
            mark = "x" if option.selected else " "
            data = message.multiselect.toggle_data(option)
            entries.append((f"[{mark}] {option.label}", option.label, data))
    for row in message.buttons:
        for button in row:
            if button.url is not None:
                entries.append((f"{button.label}: {button.url}", button.label, None))
            else:
                entries.append((button.label, button.label, button.data))
    return entries


def _silence(stream: TextIO) -> None:
    """Point a closed pipe's descriptor at /dev/null, so the flush at exit cannot fail too."""
    try:
        descriptor = stream.fileno()
    except (OSError, ValueError):  # not a file (a test's buffer)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


def _standard_input() -> io.BufferedIOBase:
    """The process's stdin as bytes (decoded per line with replacement, never failing);
    wrapping the descriptor reads nothing, so it does not block."""
    return open(sys.stdin.fileno(), "rb", closefd=False)
