"""What an Outgoing looks like on Telegram: escaped HTML, split text, an inline keyboard.

No I/O here: the adapter sends the parts this module plans, so the rules are tested directly.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Final

from bot.core.messages import Button, Image, Outgoing

# An inline keyboard as the Bot API takes it: built as plain JSON, since every reply carries
# one and PTB's objects would only be turned back into these dicts.
KeyButton = dict[str, str]
Markup = dict[str, list[list[KeyButton]]]

TEXT_LIMIT: Final = 4096
CAPTION_LIMIT: Final = 1024
# Telegram refuses rows of more than 8 buttons; handlers' rows are a layout hint.
ROW_LIMIT: Final = 8
OPTIONS_PER_ROW: Final = 2
SELECTED_MARK: Final = "✅ "


def utf16_length(text: str) -> int:
    """Telegram measures text in UTF-16 code units: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Plain text as HTML: every ``<``, ``>`` and ``&`` becomes an entity, so nothing is markup."""
    return html.escape(text, quote=False)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut text into pieces of at most ``limit``: at line ends, else at a space, else anywhere.

    Blank pieces are dropped (Telegram refuses an empty message), and so is the line break a
    cut falls on: pieces cut at line ends, joined with newlines, give back the text.
    """
    if utf16_length(text) <= limit:
        return [text] if text.strip() else []
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines(keepends=True):
        rest, length = line, utf16_length(line)
        if current and size + length > limit:
            pieces.append("".join(current))
            current, size = [], 0
        while length > limit:
            head, rest = _cut(rest, limit)
            pieces.append(head)
            length = utf16_length(rest)
        if rest:
            current.append(rest)
            size += length
    if current:
        pieces.append("".join(current))
    return [piece.strip("\r\n") for piece in pieces if piece.strip()]


def _cut(line: str, limit: int) -> tuple[str, str]:
    """The longest head within ``limit``, ending after a space when one is in its second half."""
    size = 0
    end = 0
    for index, char in enumerate(line):
        size += 2 if ord(char) > 0xFFFF else 1
        if size > limit:
            break
        end = index + 1
    space = max(line.rfind(" ", 0, end), line.rfind("\t", 0, end))
    if space >= end // 2:
        end = space + 1
    return line[:end], line[end:]


def _button(button: Button) -> KeyButton:
    if button.url is not None:
        return {"text": button.label, "url": button.url}
    assert button.data is not None  # a Button has data or a url
    return {"text": button.label, "callback_data": button.data}


def _rows(buttons: list[KeyButton], per_row: int) -> list[list[KeyButton]]:
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


def keyboard(message: Outgoing) -> Markup | None:
    """Multi-select options as toggle buttons (ticked when selected), then the message's rows."""
    rows: list[list[KeyButton]] = []
    picker = message.multiselect
    if picker is not None:
        toggles = [
            {
                "text": f"{SELECTED_MARK}{option.label}" if option.selected else option.label,
                "callback_data": picker.toggle_data(option),
            }
            for option in picker.options
        ]
        rows.extend(_rows(toggles, OPTIONS_PER_ROW))
    for row in message.buttons:
        rows.extend(_rows([_button(button) for button in row], ROW_LIMIT))
    return {"inline_keyboard": rows} if rows else None


@dataclass(frozen=True, slots=True)
class Part:
    """One Bot API message: ``text`` is plain; with a ``photo`` it is the caption."""

    text: str
    photo: Image | None = None
    markup: Markup | None = None


def plan(message: Outgoing) -> list[Part]:
    """The messages an Outgoing becomes, the keyboard on the last so it sits under the end.

    An image carries the text as its caption when it fits; otherwise the photo goes first
    (with the image's own caption, if that fits) and the text follows as messages.
    """
    markup = keyboard(message)
    image = message.image
    if image is not None and utf16_length(message.text) <= CAPTION_LIMIT:
        return [Part(message.text, photo=image, markup=markup)]
    parts = [Part(piece) for piece in split_text(message.text)]
    if image is not None:
        caption = image.caption or ""
        photo = Part(caption if utf16_length(caption) <= CAPTION_LIMIT else "", photo=image)
        parts.insert(0, photo)
    if parts:
        last = parts[-1]
        parts[-1] = Part(last.text, photo=last.photo, markup=markup)
    return parts
