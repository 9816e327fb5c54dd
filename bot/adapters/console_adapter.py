"""Chat on stdin/stdout as one person, so the bot can be tried with no token.

Buttons print as numbered choices; typing the number or the label presses it. Works on a
terminal and piped (``printf '/start\\n1\\n' | kolbot run``); end of input or /quit ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import sys
import threading
from typing import TextIO

from bot.core.inbox import NotAccepting
from bot.core.messages import ChatRef, Incoming, Outgoing, UserRef
from bot.core.platform import UpdateSink
from storage.base import StorageUnavailable

log = logging.getLogger(__name__)

CHAT = ChatRef(platform="console", chat_id="local")
QUIT = "/quit"


class ConsolePlatform:
    name = "console"

    def __init__(
        self,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        *,
        user_name: str | None = None,
        language_hint: str | None = None,
    ) -> None:
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout
        self._interactive = self._stdin.isatty()
        self._user = UserRef(
            platform=self.name,
            user_id="local",
            display_name=user_name,
            language_hint=language_hint or os.environ.get("LANG", "").split(".")[0] or None,
        )
        self._choices: dict[str, str] = {}
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
        self._choices = choices
        self._write("\n".join(lines) + "\n\n")
        return str(next(self._message_ids))

    async def _serve(self, sink: UpdateSink) -> None:
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def read() -> None:
            # A daemon thread: a blocked readline never holds up shutdown.
            for line in iter(self._stdin.readline, ""):
                loop.call_soon_threadsafe(lines.put_nowait, line)
            loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=read, name="console-stdin", daemon=True).start()
        try:
            while True:
                if self._interactive:
                    self._write("> ")
                line = await lines.get()
                if line is None:
                    break
                text = line.rstrip("\r\n")
                if not self._interactive:
                    self._write(f"> {text}\n")
                if text.strip() == QUIT:
                    break
                # Spaces alone are an answer too (a blank name gets told why); only an empty
                # line is nothing.
                if text:
                    try:
                        # The reply is printed before the next prompt.
                        await sink.handle(self.identity, self._incoming(text))
                    except NotAccepting:
                        break  # stopping
                    except StorageUnavailable as error:
                        log.warning("could not take that line now: %s", error)
        finally:
            self._closed.set()

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
        self._stdout.write(text)
        self._stdout.flush()
