"""Follower counts as people write them: 12000, 12 345, 1,2M, 12 тыс., 3.4k, 1,2 millones.

Separators mean different things in different languages, so the shape of the number decides
first: a lone separator followed by exactly three digits groups thousands. Only when a suffix
makes both readings plausible ("1.234k") does the user's language pick the decimal mark.
A word that means a thousand to some readers and a million to others ("mil" in English) is
neither guessed nor refused: both readings are handed back for the person to choose.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from functools import lru_cache
from typing import Final

from babel import Locale, UnknownLocaleError
from babel.numbers import get_decimal_symbol

from bot.i18n import N_
from handlers.validators.errors import Invalid

MAX_FOLLOWERS: Final = 2_000_000_000

NOT_A_COUNT: Final = N_(
    "Please send the number of followers in digits, for example 12500 or 12.5k."
)
NEGATIVE_COUNT: Final = N_("A follower count cannot be negative.")
FRACTIONAL_COUNT: Final = N_("A follower count must be a whole number.")
COUNT_TOO_LARGE: Final = N_("A follower count can be at most {max}.")
AMBIGUOUS_COUNT: Final = N_(
    "“mil” can mean a thousand or a million: please send the number in digits, for example"
    " {thousand} or {million}."
)

_THOUSAND: Final = 1_000
_MILLION: Final = 1_000_000
_BILLION: Final = 1_000_000_000
_TRILLION: Final = 1_000_000_000_000
# The words and abbreviations of en, ru, fr, es and pl, accepted in any of them, as folded by
# _fold_word: lowercase, no accents, no trailing dot. Cyrillic к and м are what a Russian
# keyboard gives in place of k and m. The long-scale words (es billón, pl bilion) are 10^12.
_MULTIPLIERS: Final[dict[str, int]] = {
    **dict.fromkeys(["k", "thousand", "thousands"], _THOUSAND),
    **dict.fromkeys(["к", "тыс", "тысяча", "тысячи", "тысяч"], _THOUSAND),
    **dict.fromkeys(["mille", "mil", "tys", "tysiac", "tysiaca", "tysiace", "tysiecy"], _THOUSAND),
    **dict.fromkeys(["m", "mln", "million", "millions"], _MILLION),
    **dict.fromkeys(["м", "млн", "миллион", "миллиона", "миллионов"], _MILLION),
    **dict.fromkeys(
        ["mill", "millon", "millones", "milion", "miliona", "miliony", "milionow"], _MILLION
    ),
    **dict.fromkeys(["b", "bn", "billion", "billions", "mld", "mrd", "md"], _BILLION),
    **dict.fromkeys(["млрд", "миллиард", "миллиарда", "миллиардов"], _BILLION),
    **dict.fromkeys(["milliard", "milliards", "mil millones"], _BILLION),
    **dict.fromkeys(["miliard", "miliarda", "miliardy", "miliardow"], _BILLION),
    **dict.fromkeys(["billon", "billones", "bilion", "biliony", "bilionow"], _TRILLION),
}
# Words that mean something else to readers of one language: a French billion is a thousand
# English ones.
_IN_LANGUAGE: Final[dict[str, dict[str, int]]] = {
    "fr": {"billion": _TRILLION, "billions": _TRILLION},
}
# Words with two meanings to readers of one language: in an English chat "12 mil" is twelve
# thousand to whoever thinks in Spanish or Portuguese, and twelve million in English slang.
_EITHER: Final[dict[str, dict[str, tuple[int, int]]]] = {"en": {"mil": (_THOUSAND, _MILLION)}}

_MINUS_SIGNS: Final = ("-", "\u2212", "\u2013")
# Digits with single separators between them, then an optional word or two such as "k",
# "тыс." or "mil millones".
_SHAPE: Final = re.compile(
    r"(?P<number>[0-9]+(?:[., ][0-9]+)*) ?(?P<suffix>[^\W\d_]+\.?(?: [^\W\d_]+\.?)?)?"
)
_GROUPED: Final = re.compile(r"[0-9]{1,3}(?:[ ,.][0-9]{3})*")


@lru_cache(maxsize=16)
def _decimal_mark(language: str) -> str:
    try:
        return get_decimal_symbol(Locale.parse(language))
    except (ValueError, UnknownLocaleError):
        return "."


def _split_decimal(number: str, has_suffix: bool, language: str) -> tuple[str, str]:
    """Integer digits (group separators still in) and fraction digits."""
    marks = [char for char in number if char in ".,"]
    if not marks:
        return number, ""
    if len(set(marks)) == 2:
        # 1,234.5 or 1.234,5: the last mark is the decimal one and appears once.
        decimal = marks[-1]
    elif " " in number or len(marks) > 1:
        # 12 345,6 groups with spaces; 1.234.567 repeats its mark, so it cannot be decimal.
        decimal = marks[0] if " " in number and len(marks) == 1 else ""
    else:
        head, _, tail = number.partition(marks[0])
        looks_grouped = len(head) <= 3 and len(tail) == 3
        if looks_grouped and (not has_suffix or marks[0] != _decimal_mark(language)):
            decimal = ""
        else:
            decimal = marks[0]
    if not decimal:
        return number, ""
    whole, _, fraction = number.rpartition(decimal)
    return whole, fraction


def _fold_word(words: str) -> str:
    """ "Millón" and "millon", "tysięcy" and "tysiecy", "тыс." and "тыс" alike."""
    decomposed = unicodedata.normalize("NFKD", words)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(word.removesuffix(".") for word in bare.split())


class AmbiguousCount(Invalid):
    """The count reads two ways in the person's language ("12 mil" in English): ``readings``
    are both, smaller first, for the person to choose between."""

    def __init__(self, readings: tuple[int, int]) -> None:
        super().__init__(AMBIGUOUS_COUNT, thousand=readings[0], million=readings[1])
        self.readings = readings


def _multipliers(suffix: str, language: str) -> tuple[int, ...]:
    """What the word multiplies by: one value, two for a word of two meanings, none."""
    word = _fold_word(suffix)
    either = _EITHER.get(language, {})
    if word in either:
        return either[word]
    local = _IN_LANGUAGE.get(language, {})
    multiplier = local[word] if word in local else _MULTIPLIERS.get(word)
    return () if multiplier is None else (multiplier,)


def _parse_unsigned(text: str, language: str) -> tuple[Decimal, ...]:
    """Every value the text can mean; () when it is no number."""
    shape = _SHAPE.fullmatch(text)
    if shape is None:
        return ()
    suffix = shape["suffix"] or ""
    multipliers = _multipliers(suffix, language) if suffix else (1,)
    if not multipliers:
        return ()
    whole, fraction = _split_decimal(shape["number"], bool(suffix), language)
    separators = {char for char in whole if not char.isdigit()}
    # What is left of the integer part may only group thousands, with one kind of separator;
    # the fraction is plain digits ("1.234 567" is neither).
    if len(separators) > 1 or (separators and not _GROUPED.fullmatch(whole)):
        return ()
    if not fraction.isdigit() and fraction:
        return ()
    digits = "".join(char for char in whole if char.isdigit())
    number = Decimal(f"{digits}.{fraction or 0}")
    return tuple(number * multiplier for multiplier in multipliers)


def _checked(value: Decimal) -> int:
    if value != value.to_integral_value():
        raise Invalid(FRACTIONAL_COUNT)
    if value > MAX_FOLLOWERS:
        raise Invalid(COUNT_TOO_LARGE, max=MAX_FOLLOWERS)
    return int(value)


def parse_follower_count(raw: str, language: str = "en") -> int:
    """A whole, plausible follower count; ``language`` settles "1.234k" versus "1,234k".
    AmbiguousCount when it reads as two plausible counts; one that is no count (a fraction,
    too many) leaves the other."""
    text = " ".join(raw.split()).lower()
    negative = text.startswith(_MINUS_SIGNS)
    if negative:
        text = text[1:].lstrip()
    values = _parse_unsigned(text, language)
    if not values:
        raise Invalid(NOT_A_COUNT)
    if negative:
        raise Invalid(NEGATIVE_COUNT)
    counts: list[int] = []
    problem: Invalid | None = None
    for value in values:
        try:
            counts.append(_checked(value))
        except Invalid as error:
            problem = problem or error
    if not counts:
        assert problem is not None
        raise problem
    if len(counts) == 2:
        raise AmbiguousCount((counts[0], counts[1]))
    return counts[0]
