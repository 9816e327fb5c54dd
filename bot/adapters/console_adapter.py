"""Chat on stdin/stdout as one person, so the bot can be tried with no token.

Buttons print as numbered choices; typing the number or the label presses it. Works on a
terminal and piped (``printf '/start\\n1\\n' | kolbot run``); end of input or /quit ends it.
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
import sys
import threading
from typing import TextIO

from bot.core.inbox import NotAccepting
from bot.core.messages import ChatRef, Incoming, Outgoing, UserRef
from bot.core.platform import UpdateSink
from bot.i18n import N_
from storage.base import StorageUnavailable

log = logging.getLogger(__name__)

CHAT = ChatRef(platform="console", chat_id="local")
QUIT = "/quit"
READ_SIZE = 65536


class ConsolePlatform:
    name = "console"
    own_commands = ((QUIT[1:], N_("Leave the chat")),)

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
        self._user = UserRef(
            platform=self.name,
            user_id="local",
            display_name=user_name,
            language_hint=language_hint or os.environ.get("LANG", "").split(".")[0] or None,
        )
        self._choices: dict[str, str] = {}
        # Handling the person's line: what is sent now answers it. Anything else (an approval,
        # an offer) arrives on its own, and without choices of its own it leaves the open
        # question's numbers as they were.
        self._answering = False
        # The lines read, while the chat runs; None in it ends the chat.
        self._lines: asyncio.Queue[str | None] | None = None
        # Whoever read the output has gone (``kolbot run | head``).
        self._output_closed = False
        # Waiting at "> " on a terminal: what is sent meanwhile goes below it, and a stop
        # (Ctrl-D, Ctrl-C) leaves the shell's prompt a line of its own.
        self._at_prompt = False
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
        lines = [message.text]
        choices: dict[str, str] = {}
        numbered = itertools.count(1)
        if message.multiselect is not None:
            for option in message.multiselect.options:
                number = str(next(numbered))
                mark = "x" if option.selected else " "
                lines.append(f"  {number}) [{mark}] {option.label}")
                choices[number] = message.multiselect.toggle_data(option)
                choices[option.label.casefold()] = choices[number]
        for row in message.buttons:
            for button in row:
                if button.url is not None:
                    lines.append(f"  {button.label}: {button.url}")
                    continue
                assert button.data is not None
                number = str(next(numbered))
                lines.append(f"  {number}) {button.label}")
                choices[number] = button.data
                choices[button.label.casefold()] = button.data
        if choices or self._answering:
            self._choices = choices
        if self._at_prompt:
            # Sent while the person was not answering (an approval, an offer): below the
            # prompt, which then comes again.
            self._write("\n" + "\n".join(lines) + "\n\n> ")
        else:
            self._write("\n".join(lines) + "\n\n")
        return str(next(self._message_ids))

    async def _serve(self, sink: UpdateSink) -> None:
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._lines = lines
        if self._stdin is None:
            self._stdin = _standard_input()
            self._interactive = self._stdin.isatty()
        stdin = self._stdin
        encoding = self._encoding or sys.stdin.encoding or "utf-8"
        try:
            opened = Incoming(kind="opened", chat=CHAT, user=self._user)
            if not await self._hand_over(sink, opened):
                return
            # A daemon thread: a blocked read never holds up shutdown.
            threading.Thread(
                target=self._read,
                args=(stdin, encoding, asyncio.get_running_loop(), lines),
                name="console-stdin",
                daemon=True,
            ).start()
            while True:
                if self._interactive:
                    self._write("> ")
                    self._at_prompt = True
                line = await lines.get()
                if line is None:
                    break
                self._at_prompt = False
                text = line.rstrip("\r\n")
                if not self._interactive:
                    self._write(f"> {text}\n")
                elif not line.endswith("\n"):
                    self._write("\n")  # a line ended by Ctrl-D: the reply goes below it
                if text.strip() == QUIT:
                    break
                # Spaces alone are an answer too (a blank name gets told why); only an empty
                # line is nothing.
                if text and not await self._hand_over(sink, self._incoming(text)):
                    break
        finally:
            if self._at_prompt:
                self._write("\n")
            self._closed.set()

    async def _hand_over(self, sink: UpdateSink, incoming: Incoming) -> bool:
        """Handle one event; its replies are printed before this returns. False: stopping."""
        self._answering = True
        try:
            await sink.handle(self.identity, incoming)
        except NotAccepting:
            return False
        except StorageUnavailable as error:
            log.warning("could not take that line now: %s", error)
        finally:
            self._answering = False
        return True

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

    def _incoming(self, text: str) -> Incoming:
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            command, _, args = stripped[1:].partition(" ")
            return Incoming(
                kind="command",
                chat=CHAT,
                user=self._user,
                text=stripped,
                command=command.lower(),
                args=args.strip(),
            )
        data = self._choices.get(stripped.casefold())
        if data is not None:
            return Incoming(kind="button", chat=CHAT, user=self._user, button_data=data)
        return Incoming(kind="text", chat=CHAT, user=self._user, text=text)

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
