"""Free-text answers: bios, names, notes.

Only what would corrupt storage or deceive a reader is refused here. Quotes, SQL and markup are
kept as typed: queries are parameterised and escaping happens when the text is rendered.
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

# Bidi overrides and isolates can make a bio display as something other than what it says.
_BIDI_CONTROLS: Final = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
)
# Joiners hold emoji sequences (and Persian words) together; tag characters spell the
# subdivision flags such as England's. Variation selectors are marks (Mn), not Cf.
_ALLOWED_FORMAT: Final = frozenset(
    ["\u200c", "\u200d"] + [chr(c) for c in range(0xE0020, 0xE0080)]
)


def _is_invisible(char: str) -> bool:
    if char in _BIDI_CONTROLS:
        return True
    category = unicodedata.category(char)
    if category == "Cf":
        return char not in _ALLOWED_FORMAT
    # Line breaks and tabs (Cc, but whitespace) are already collapsed by the time this runs;
    # lone surrogates (Cs) cannot be stored as UTF-8.
    return category in {"Cc", "Cs"}


def clean_text(raw: str, *, max_length: int = 200) -> str:
    """One line of tidy NFC text, so equal answers compare equal and limits count characters."""
    text = " ".join(unicodedata.normalize("NFC", raw).split())
    if not text:
        raise Invalid(EMPTY)
    if any(_is_invisible(char) for char in text):
        raise Invalid(INVISIBLE)
    if len(text) > max_length:
        raise Invalid(TOO_LONG, max=max_length)
    return text
