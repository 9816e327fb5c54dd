"""Country and time zone, typed the way people say them.

Countries come back as ISO 3166-1 alpha-2 codes and zones as IANA names, so storage and
scheduling never see a language. Names are matched in the user's language and in English,
ignoring case, accents and punctuation, since that is how they get typed on a phone.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from functools import cache, lru_cache
from typing import Final

from babel import Locale, UnknownLocaleError
from babel.core import get_global

from bot.i18n import N_
from handlers.validators.errors import Invalid

COUNTRY_UNKNOWN: Final = N_(
    "We could not find that country: please send its name or its two-letter code, like DE."
)
TIMEZONE_UNKNOWN: Final = N_(
    "We could not find that time zone: please send a name like Europe/Warsaw or UTC."
)

# CLDR territories that are not countries: unknown, unions, regions, pseudo-locales, and
# codes reserved for places ISO 3166-1 folds into a country (Canary Islands, Ascension...).
_NOT_COUNTRIES: Final = frozenset(
    {"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB", "AC", "CP", "CQ", "DG", "EA", "IC", "TA"}
)

# What people type that no CLDR name matches.
_ALIASES: Final[dict[str, str]] = {
    "usa": "US",
    "us": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "holland": "NL",
    "czech republic": "CZ",
    "turkey": "TR",
    "ivory coast": "CI",
    "korea": "KR",
    "republic of korea": "KR",
    "hong kong": "HK",
    "macau": "MO",
    "macao": "MO",
    "palestine": "PS",
    "vatican": "VA",
    "burma": "MM",
    "macedonia": "MK",
    "uae": "AE",
    "emirates": "AE",
    "россия": "RU",
    "рф": "RU",
    "российская федерация": "RU",
    "сша": "US",
    "америка": "US",
    "соединенные штаты америки": "US",
    "англия": "GB",
    "британия": "GB",
    "белоруссия": "BY",
    "молдавия": "MD",
    "гонконг": "HK",
    "южная корея": "KR",
    "корея": "KR",
    "angleterre": "GB",
    "Grande-Bretagne": "GB",
    "eeuu": "US",
    "EE UU": "US",
    "inglaterra": "GB",
    "Gran Bretaña": "GB",
    "anglia": "GB",
    "hongkong": "HK",
}

# Babel lists a country's zones in no useful order; where it matters, lead with the zone most
# of the country lives in. Countries not listed keep Babel's order.
_MAIN_ZONES: Final[dict[str, str]] = {
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CD": "Africa/Kinshasa",
    "CL": "America/Santiago",
    "CY": "Asia/Nicosia",
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",
    "FM": "Pacific/Pohnpei",
    "GL": "America/Nuuk",
    "ID": "Asia/Jakarta",
    "KI": "Pacific/Tarawa",
    "KZ": "Asia/Almaty",
    "MH": "Pacific/Majuro",
    "MN": "Asia/Ulaanbaatar",
    "MX": "America/Mexico_City",
    "MY": "Asia/Kuala_Lumpur",
    "PF": "Pacific/Tahiti",
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "US": "America/New_York",
    "UZ": "Asia/Tashkent",
}
# Countries CLDR gives no zone of their own.
_EXTRA_ZONES: Final[dict[str, tuple[str, ...]]] = {"XK": ("Europe/Belgrade",)}

# Names zoneinfo can load that are not places: the host's own clock and a placeholder.
_NOT_ZONES: Final = frozenset({"localtime", "Factory", "posixrules"})
_UTC_NAMES: Final = frozenset({"UTC", "Etc/UTC"})
# Letters that do not decompose into a base letter and an accent.
_UNACCENTED: Final = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe"})


def _fold(text: str) -> str:
    """Lowercase, without accents or punctuation, so "Côte d’Ivoire" matches "cote d'ivoire"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_UNACCENTED))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    # Dots go without a trace so that "U.S.A." is "usa"; other punctuation separates words.
    words = re.sub(r"[\W_]+", " ", bare.replace(".", "")).split()
    if words[:1] == ["the"]:
        words = words[1:]
    return " ".join(words)


@cache
def _country_codes() -> frozenset[str]:
    territories = Locale.parse("en").territories
    return frozenset(
        code
        for code in territories
        if isinstance(code, str)
        and len(code) == 2
        and code.isalpha()
        and code not in _NOT_COUNTRIES
    )


@lru_cache(maxsize=16)
def _country_names(language: str) -> dict[str, str]:
    """Folded name -> code, the user's language winning over English where both name one."""
    names = {_fold(alias): code for alias, code in _ALIASES.items()}
    codes = _country_codes()
    for name_language in dict.fromkeys(["en", language]):
        try:
            territories = Locale.parse(name_language).territories
        except (ValueError, UnknownLocaleError):
            continue
        for code, name in territories.items():
            if code in codes:
                names[_fold(name)] = code
    return names


def parse_country(raw: str, language: str) -> str:
    """The alpha-2 code for a country named in ``language`` or English, or given by its code."""
    text = raw.strip()
    code = text.upper()
    if len(code) == 2 and code.isascii() and code in _country_codes():
        return code
    found = _country_names(language).get(_fold(text))
    if found is None:
        raise Invalid(COUNTRY_UNKNOWN)
    return found


@cache
def _loadable(zone: str) -> bool:
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@cache
def _zones(code: str) -> tuple[str, ...]:
    listed = get_global("territory_zones").get(code) or _EXTRA_ZONES.get(code, ())
    zones = [zone for zone in listed if _loadable(zone)]
    main = _MAIN_ZONES.get(code)
    if main in zones:
        zones.remove(main)
        zones.insert(0, main)
    return tuple(zones)


def zones_for_country(code: str) -> list[str]:
    """The country's IANA zones, the one most of its people use first; [] for none or unknown."""
    return list(_zones(code.upper()))


@cache
def _zone_index() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Exact names by lowercase spelling, and canonical zones by lowercase city."""
    names = {
        zone.lower(): zone for zone in zoneinfo.available_timezones() if zone not in _NOT_ZONES
    }
    cities: dict[str, dict[str, None]] = {}
    for zone in sorted(names.values()):
        area, _, city = zone.rpartition("/")
        # Etc/GMT+3 is three hours *behind* UTC; matching "GMT+3" to it would mislead.
        if area and area != "Etc":
            # Old spellings count too ("kiev", "calcutta"), each standing for today's zone.
            cities.setdefault(city.lower(), {})[_canonical_zone(zone)] = None
    return names, {city: tuple(zones) for city, zones in cities.items()}


def _canonical_zone(zone: str) -> str:
    """Today's name for a renamed zone (Europe/Kiev -> Europe/Kyiv); UTC for all its aliases."""
    alias: str | None = get_global("zone_aliases").get(zone)
    canonical = alias if alias is not None and _loadable(alias) else zone
    return "UTC" if canonical in _UTC_NAMES else canonical


def parse_timezone(raw: str, country: str | None = None) -> str:
    """An IANA zone name, or a city such as "warsaw"; ``country`` settles cities in two zones."""
    text = "_".join(raw.split()).replace("_/_", "/").replace("/_", "/").replace("_/", "/")
    names, cities = _zone_index()
    exact = names.get(text.lower())
    if exact is not None:
        return _canonical_zone(exact)
    candidates = cities.get(text.lower(), ())
    if len(candidates) > 1 and country is not None:
        local = set(_zones(country.upper()))
        candidates = tuple(zone for zone in candidates if zone in local)
    if len(candidates) != 1:
        raise Invalid(TIMEZONE_UNKNOWN)
    return candidates[0]
