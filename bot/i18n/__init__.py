"""gettext catalogs and Babel formatting, one Translator per language.

Messages are marked with ``N_`` where they are defined and translated with ``_`` where they are
rendered, so a validator can name an error without knowing who will read it.
"""

from __future__ import annotations

import gettext
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal, get_currency_precision

LOCALES_DIR: Final = Path(__file__).parent / "locales"
DOMAIN: Final = "kolbot"
LANGUAGES: Final = ("en", "ru", "fr", "es", "pl")
DEFAULT_LANGUAGE: Final = "en"
# Each language offered in its own name, so a reader finds theirs without knowing English.
LANGUAGE_NAMES: Final = {
    "en": "English",
    "ru": "Русский",
    "fr": "Français",
    "es": "Español",
    "pl": "Polski",
}


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a message for extraction; it is translated later, by whoever renders it."""
    return message


def NC_(context: str, message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a message that needs a context to translate, such as a command's name."""
    return message


def normalize_language(hint: str | None) -> str | None:
    """Map a platform hint such as ``pt-BR`` or ``es-ES`` to a supported language, if any."""
    if not hint:
        return None
    code = hint.replace("_", "-").split("-", 1)[0].lower()
    return code if code in LANGUAGES else None


class Translator:
    """Translations and locale-aware formatting for one language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self.locale = Locale.parse(self.language)
        self._catalog: gettext.NullTranslations = gettext.translation(
            DOMAIN, LOCALES_DIR, languages=[self.language], fallback=True
        )

    def _(self, message: str, /, **params: object) -> str:
        """Translate, then fill ``{name}`` placeholders; params are never translated."""
        text = self._catalog.gettext(message)
        return text.format(**params) if params else text

    def pgettext(self, context: str, message: str, /) -> str:
        return self._catalog.pgettext(context, message)

    def ngettext(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        text = self._catalog.ngettext(singular, plural, n)
        return text.format(n=self.number(n), **params)

    def number(self, value: int | float) -> str:
        return format_decimal(value, locale=self.locale)

    def money(self, amount_minor: int, currency: str) -> str:
        """Render integer minor units; the only place money becomes a decimal is for display."""
        exponent = get_currency_precision(currency)
        return format_currency(
            Decimal(amount_minor).scaleb(-exponent), currency, locale=self.locale
        )

    def datetime(self, moment: datetime, timezone: str | None = None) -> str:
        """A date and time as the reader writes them, in ``timezone``, to the minute: a
        deadline at 6 PM reads "Jan 7, 2027, 6:00 PM", not "6:00:00 PM". Babel's medium
        date and short time, joined by the locale's own pattern for the pair."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)  # stored times are UTC
        local = moment.astimezone(ZoneInfo(timezone)) if timezone else moment
        pattern = str(self.locale.datetime_formats["medium"])
        return (
            pattern.replace("'", "")
            .replace("{0}", format_time(local, "short", locale=self.locale))
            .replace("{1}", format_date(local, "medium", locale=self.locale))
        )

    def country_name(self, code: str) -> str:
        return str(self.locale.territories.get(code, code))


@cache
def translator(language: str | None) -> Translator:
    return Translator(language or DEFAULT_LANGUAGE)
