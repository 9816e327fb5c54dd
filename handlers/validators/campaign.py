"""A campaign's fields as an agency admin types them, in chat or in a file.

One parser per field, each raising ``Invalid`` with an untranslated message, so the chat
re-asks in the admin's language and the command line names the field that is wrong.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.numbers import get_currency_precision, list_currencies

from bot.i18n import N_
from handlers.catalog import NICHES
from handlers.validators.errors import Invalid
from handlers.validators.geo import CountryGuess, parse_country
from handlers.validators.numbers import parse_follower_count
from handlers.validators.text import TOO_LONG, clean_text
from storage.models import Commission

MAX_BRAND: Final = 80
MAX_TITLE: Final = 120
MAX_BRIEF: Final = 1000
MAX_SLOTS: Final = 100_000
MAX_URL: Final = 2000
# What a deadline given as a date alone means.
END_OF_DAY: Final = time(23, 59)
# A fixed commission above a million in any currency is a typo, not a deal.
MAX_FIXED_MAJOR: Final = 1_000_000
# Words that mean "no limit" for countries and topics, in the five languages.
EVERYWHERE: Final = frozenset(
    {"all", "any", "*", "все", "любые", "tous", "toutes", "todos", "todas", "wszystkie"}
)

COMMISSION_FORMAT: Final = N_(
    "Please send the commission as a percentage such as {percent} or as an amount with its "
    "currency such as {amount}."
)
COMMISSION_EXAMPLES: Final = {"percent": "12.5%", "amount": "25 EUR"}
PERCENT_RANGE: Final = N_("A percentage commission must be more than 0% and at most 100%.")
PERCENT_PRECISION: Final = N_("A percentage can have at most two decimal places, like 12.25%.")
UNKNOWN_CURRENCY: Final = N_(
    "“{currency}” is not a currency we know: use its three-letter code, such as EUR or PLN."
)
AMOUNT_RANGE: Final = N_("A fixed commission must be more than 0 and at most {max}.")
AMOUNT_PRECISION: Final = N_("{currency} amounts can have at most {digits} decimal places.")
AMOUNT_NO_DECIMALS: Final = N_("{currency} amounts are whole numbers.")
NO_COUNTRIES: Final = N_("Name at least one country, or send “all”.")
COUNTRY_IN_LIST: Final = N_(
    "We could not find the country “{typed}”. Send its name or its two-letter code, like DE."
)
COUNTRY_GUESS_IN_LIST: Final = N_(
    "We could not find the country “{typed}”. Did you mean {country}?"
)
UNKNOWN_NICHE: Final = N_("“{topic}” is not one of the topics.")
NO_NICHES: Final = N_("Choose at least one topic, or all topics.")
SLOTS_FORMAT: Final = N_("Please send the number of slots as a whole number, for example 50.")
SLOTS_RANGE: Final = N_("A campaign needs at least 1 slot and at most {max}.")
DEADLINE_FORMAT: Final = N_(
    "Please send the deadline as a date and time, for example {example}: day first "
    "(31.12.2026) and year first (2026-12-31) both work."
)
DEADLINE_PAST: Final = N_("The deadline must be in the future.")
DEADLINE_FAR: Final = N_("The deadline can be at most a year from now.")
URL_HTTPS: Final = N_(
    "The landing page must be an https:// link, such as https://shop.example/sale."
)
URL_INVALID: Final = N_(
    "That is not a link we can use: send a full address such as https://shop.example/sale."
)

# Symbols that name one currency wherever they are typed; "$" alone is several.
_SYMBOLS: Final = {"€": "EUR", "£": "GBP", "zł": "PLN", "zl": "PLN", "₽": "RUB", "руб": "RUB"}
_PERCENT: Final = re.compile(r"(?P<number>[0-9]+(?:[.,][0-9]+)?) ?%")
_AMOUNT: Final = re.compile(
    r"(?:(?P<before>[^\d\s.,]+) ?)?(?P<number>[0-9]+(?:[ .,][0-9]+)*)(?: ?(?P<after>[^\d\s]+))?"
)
_DATE_FORMATS: Final = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%d.%m.%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%d-%m-%Y %H:%M",
    "%Y-%m-%d",
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%d-%m-%Y",
)


def parse_brand(raw: str) -> str:
    return clean_text(raw, max_length=MAX_BRAND)


def parse_title(raw: str) -> str:
    return clean_text(raw, max_length=MAX_TITLE)


def parse_brief(raw: str) -> str:
    """Tidy lines (line breaks kept: a brief is read as written), at most 1,000 characters."""
    lines = []
    for line in unicodedata.normalize("NFC", raw).strip().splitlines():
        if line.strip():
            lines.append(clean_text(line, max_length=MAX_BRIEF))
        elif lines and lines[-1]:
            lines.append("")
    text = "\n".join(lines).strip()
    if not text:
        return clean_text(text)  # raises the "send some text" message
    if len(text) > MAX_BRIEF:
        raise Invalid(TOO_LONG, max=MAX_BRIEF)
    return text


def _decimal(number: str, *, grouping: bool = True) -> Decimal:
    """12,5 and 12.5 alike; with ``grouping``, 1 000, 1,000 and 1.000,50 group thousands."""
    text = number.replace(" ", "")
    marks = [char for char in text if char in ".,"]
    decimal = ""
    if len(set(marks)) == 2:
        decimal = marks[-1]
    elif len(marks) == 1 and not (grouping and len(text.partition(marks[0])[2]) == 3):
        decimal = marks[0]
    elif len(marks) > 1 and not grouping:
        raise Invalid(COMMISSION_FORMAT, **COMMISSION_EXAMPLES)
    whole, _, fraction = text.rpartition(decimal) if decimal else (text, "", "")
    digits = whole.replace(".", "").replace(",", "")
    try:
        return Decimal(f"{digits}.{fraction}" if fraction else digits)
    except InvalidOperation:
        raise Invalid(COMMISSION_FORMAT, **COMMISSION_EXAMPLES) from None


def _currency(word: str) -> str:
    folded = word.strip().rstrip(".").casefold()
    if folded in _SYMBOLS:
        return _SYMBOLS[folded]
    code = word.strip().upper()
    if len(code) == 3 and code.isascii() and code.isalpha() and code in list_currencies():
        return code
    raise Invalid(UNKNOWN_CURRENCY, currency=word.strip()[:12])


def parse_commission(raw: str) -> Commission:
    """A percentage of a sale (basis points) or a fixed amount in the currency's minor units,
    as many digits after the mark as the currency has (Babel knows: JPY none, EUR two)."""
    text = " ".join(raw.split())
    percent = _PERCENT.fullmatch(text)
    if percent:
        value = _decimal(percent["number"], grouping=False)
        if value <= 0 or value > 100:
            raise Invalid(PERCENT_RANGE)
        basis_points = value * 100
        if basis_points != basis_points.to_integral_value():
            raise Invalid(PERCENT_PRECISION)
        return Commission.percent(int(basis_points))
    amount = _AMOUNT.fullmatch(text)
    if amount is None or bool(amount["before"]) == bool(amount["after"]):
        raise Invalid(COMMISSION_FORMAT, **COMMISSION_EXAMPLES)
    currency = _currency(amount["before"] or amount["after"])
    value = _decimal(amount["number"])
    digits = get_currency_precision(currency)
    minor = value.scaleb(digits)
    if minor != minor.to_integral_value():
        if digits == 0:
            raise Invalid(AMOUNT_NO_DECIMALS, currency=currency)
        raise Invalid(AMOUNT_PRECISION, currency=currency, digits=digits)
    if value <= 0 or value > MAX_FIXED_MAJOR:
        raise Invalid(AMOUNT_RANGE, max=MAX_FIXED_MAJOR)
    return Commission.fixed(int(minor), currency)


def _parts(raw: str | Iterable[str]) -> list[str]:
    items = re.split(r"[,;\n]", raw) if isinstance(raw, str) else list(raw)
    return [" ".join(item.split()) for item in items if item.strip()]


def parse_countries(raw: str | Iterable[str], language: str) -> tuple[str, ...]:
    """Alpha-2 codes, sorted; empty for every country ("all")."""
    parts = _parts(raw)
    if len(parts) == 1 and parts[0].casefold() in EVERYWHERE:
        return ()
    if not parts:
        raise Invalid(NO_COUNTRIES)
    codes = set()
    for part in parts:
        try:
            codes.add(parse_country(part, language))
        except CountryGuess as guess:
            raise Invalid(
                COUNTRY_GUESS_IN_LIST, typed=part[:40], country=guess.params["country"]
            ) from None
        except Invalid:
            raise Invalid(COUNTRY_IN_LIST, typed=part[:40]) from None
    return tuple(sorted(codes))


def parse_niches(
    raw: str | Iterable[str], labels: dict[str, str] | None = None
) -> tuple[str, ...]:
    """Topic keys in the catalog's order; empty for every topic ("all"). ``labels`` maps
    the admin's own-language names (folded) to keys."""
    parts = _parts(raw)
    if len(parts) == 1 and parts[0].casefold() in EVERYWHERE:
        return ()
    if not parts:
        raise Invalid(NO_NICHES)
    known = {key: key for key in NICHES} | {
        label.casefold(): key for label, key in (labels or {}).items()
    }
    chosen = set()
    for part in parts:
        key = known.get(part.casefold())
        if key is None:
            raise Invalid(UNKNOWN_NICHE, topic=part[:40])
        chosen.add(key)
    return tuple(key for key in NICHES if key in chosen)


def parse_min_followers(raw: str | int, language: str = "en") -> int:
    if isinstance(raw, int):
        raw = str(raw)
    return parse_follower_count(raw, language)


def parse_slots(raw: str | int) -> int:
    text = str(raw).replace(" ", "").replace("\u00a0", "")
    if not text.lstrip("-").isdigit():
        raise Invalid(SLOTS_FORMAT)
    slots = int(text)
    if slots < 1 or slots > MAX_SLOTS:
        raise Invalid(SLOTS_RANGE, max=MAX_SLOTS)
    return slots


def parse_deadline(raw: str | datetime, timezone: str, now: datetime) -> datetime:
    """A moment in UTC from a local date and time (a date alone means its end, 23:59)."""
    moment = raw if isinstance(raw, datetime) else _local_moment(" ".join(raw.split()))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    moment = moment.astimezone(UTC)
    if moment <= now:
        raise Invalid(DEADLINE_PAST)
    if moment > now + timedelta(days=366):
        raise Invalid(DEADLINE_FAR)
    return moment


def _local_moment(text: str) -> datetime:
    for pattern in _DATE_FORMATS:
        try:
            moment = datetime.strptime(text, pattern)  # local time: its zone is added after
        except ValueError:
            continue
        if "%H" not in pattern:
            moment = datetime.combine(moment.date(), END_OF_DAY)
        return moment
    raise Invalid(DEADLINE_FORMAT, example="31.12.2026 18:00")


def parse_landing_url(raw: str) -> str:
    text = raw.strip()
    if not text.lower().startswith("https://"):
        if "://" in text or text.lower().startswith(("http:", "www.")) or "." in text:
            raise Invalid(URL_HTTPS)
        raise Invalid(URL_INVALID)
    parts = urlsplit(text)
    host = parts.hostname or ""
    if (
        len(text) > MAX_URL
        or any(char.isspace() for char in text)
        or "." not in host
        or parts.username is not None
        or any(unicodedata.category(char).startswith("C") for char in text)
    ):
        raise Invalid(URL_INVALID)
    return text
