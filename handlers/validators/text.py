"""Free-text answers: bios, names, notes.

Only what would corrupt storage or deceive a reader is refused here. Quotes, SQL and markup are
kept as typed: queries are parameterised and escaping happens when the text is rendered. The
direction marks that right-to-left keyboards insert are kept where they change the display.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from bot.i18n import N_
from handlers.validators.errors import Invalid

EMPTY: Final = N_("Please send some text.")
TOO_LONG: Final = N_("That is too long: please keep it to {max} characters or fewer.")
INVISIBLE: Final = N_(
    "Your text contains invisible formatting characters: please type it again without them."
)
NAME_NEEDS_LETTER: Final = N_("A name needs at least one letter.")

# Bidi overrides and isolates can make a bio display as something other than what it says.
_BIDI_CONTROLS: Final = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
)
# Left-to-right, right-to-left and Arabic letter marks, with the direction each stands for.
_DIRECTION_MARKS: Final = {"\u200e": "L", "\u200f": "R", "\u061c": "R"}
# Hangul fillers are letters to Unicode but draw nothing: where a chat app trims spaces, they
# are how a blank message gets sent. They count as spaces here.
_FILLERS_AS_SPACES: Final = str.maketrans(dict.fromkeys("\u115f\u1160\u3164\uffa0", " "))
# Joiners hold emoji sequences (and Persian words) together; tag characters spell the
# subdivision flags such as England's. Variation selectors are marks (Mn), not Cf.
_ALLOWED_FORMAT: Final = frozenset(
    ["\u200c", "\u200d"] + [chr(c) for c in range(0xE0020, 0xE0080)]
)


def _direction(char: str) -> str | None:
    """The strong direction of a character, or None for digits, spaces and punctuation."""
    bidi = unicodedata.bidirectional(char)
    if bidi == "L":
        return "L"
    return "R" if bidi in {"R", "AL"} else None


def _drop_idle_marks(text: str) -> str:
    """Remove each direction mark whose neighbours (other marks aside, the text's ends counting
    as no neighbour) are letters of its own direction: there it changes nothing on screen."""
    bare = [char for char in text if char not in _DIRECTION_MARKS]
    kept: list[str] = []
    position = 0  # how many of ``bare`` come before the current character
    for char in text:
        mark = _DIRECTION_MARKS.get(char)
        if mark is None:
            kept.append(char)
            position += 1
            continue
        neighbours = bare[position - 1 : position] if position else []
        neighbours += bare[position : position + 1]
        if any(_direction(neighbour) != mark for neighbour in neighbours):
            kept.append(char)
    return "".join(kept)


def _is_invisible(char: str) -> bool:
    if char in _BIDI_CONTROLS:
        return True
    if char in _DIRECTION_MARKS:
        return False
    category = unicodedata.category(char)
    if category == "Cf":
        return char not in _ALLOWED_FORMAT
    # Line breaks and tabs (Cc, but whitespace) are already collapsed by the time this runs;
    # lone surrogates (Cs) cannot be stored as UTF-8.
    return category in {"Cc", "Cs"}


def clean_text(raw: str, *, max_length: int = 200) -> str:
    """One line of tidy NFC text, so equal answers compare equal and limits count characters."""
    spaced = unicodedata.normalize("NFC", raw).translate(_FILLERS_AS_SPACES)
    text = _drop_idle_marks(" ".join(spaced.split()))
    if not text:
        raise Invalid(EMPTY)
    if any(_is_invisible(char) for char in text):
        raise Invalid(INVISIBLE)
    if len(text) > max_length:
        raise Invalid(TOO_LONG, max=max_length)
    return text


def parse_name(raw: str) -> str:
    """A display name: tidy text with a letter in it, in any script. Emoji, digits and
    punctuation alone name no one, and an empty answer is told the same."""
    try:
        name = clean_text(raw)
    except Invalid as error:
        if error.message == EMPTY:
            raise Invalid(NAME_NEEDS_LETTER) from None
        raise
    if not any(unicodedata.category(char).startswith("L") for char in name):
        raise Invalid(NAME_NEEDS_LETTER)
    return name
