from __future__ import annotations

import zoneinfo

import pytest
from babel import Locale

from bot.i18n import LANGUAGES
from handlers.profile_flow import MAX_ZONE_BUTTONS
from handlers.validators import (
    CityInZones,
    CountryGuess,
    Invalid,
    parse_country,
    parse_timezone,
    zones_for_abbreviation,
    zones_for_country,
)
from handlers.validators.geo import (
    ABBREVIATION_ELSEWHERE,
    CITY_IN_ZONES,
    COUNTRY_GUESS,
    COUNTRY_UNKNOWN,
    PLACE_UNKNOWN,
    TIMEZONE_UNKNOWN,
)


@pytest.mark.parametrize(
    ("raw", "language"),
    [
        ("Germany", "en"),
        ("germany", "en"),
        ("GERMANY", "en"),
        ("  Germany  ", "en"),
        ("Германия", "ru"),
        ("германия", "ru"),
        ("Allemagne", "fr"),
        ("allemagne", "fr"),
        ("Alemania", "es"),
        ("Niemcy", "pl"),
        ("niemcy", "pl"),
        ("DE", "en"),
        ("de", "ru"),
        (" De ", "pl"),
        # English works whatever the user's language.
        ("germany", "ru"),
        ("Germany", "fr"),
        ("Germany", "es"),
        ("Germany", "pl"),
    ],
)
def test_parse_country_germany_in_every_language(raw: str, language: str) -> None:
    assert parse_country(raw, language) == "DE"


@pytest.mark.parametrize(
    ("raw", "language", "expected"),
    [
        # Accents, case and punctuation do not matter.
        ("Etats-Unis", "fr", "US"),
        ("États-Unis", "fr", "US"),
        ("etats unis", "fr", "US"),
        ("Turquia", "es", "TR"),
        ("Turquía", "es", "TR"),
        ("Mexico", "es", "MX"),
        ("México", "es", "MX"),
        ("cote d'ivoire", "en", "CI"),
        ("Côte d\u2019Ivoire", "fr", "CI"),
        ("Wlochy", "pl", "IT"),
        ("Włochy", "pl", "IT"),
        ("bialorus", "pl", "BY"),
        ("Беларусь", "ru", "BY"),
        ("Россия", "ru", "RU"),
        ("United Kingdom", "en", "GB"),
        ("Royaume-Uni", "fr", "GB"),
        ("Reino Unido", "es", "GB"),
        ("Wielka Brytania", "pl", "GB"),
        ("Великобритания", "ru", "GB"),
        ("Stany Zjednoczone", "pl", "US"),
        ("Estados Unidos", "es", "US"),
        ("Polska", "pl", "PL"),
        ("Pologne", "fr", "PL"),
        ("the Netherlands", "en", "NL"),
        ("Kosovo", "en", "XK"),
        ("xk", "en", "XK"),
        ("Antarctica", "en", "AQ"),
        ("Aland Islands", "en", "AX"),
        ("Czechia", "en", "CZ"),
        # Common names CLDR does not use.
        ("USA", "en", "US"),
        ("usa", "pl", "US"),
        ("U.S.A.", "en", "US"),
        ("us", "en", "US"),
        ("United States of America", "en", "US"),
        ("America", "en", "US"),
        ("UK", "en", "GB"),
        ("uk", "ru", "GB"),
        ("U.K.", "en", "GB"),
        ("Great Britain", "en", "GB"),
        ("England", "en", "GB"),
        ("Scotland", "en", "GB"),
        ("Holland", "en", "NL"),
        ("Czech Republic", "en", "CZ"),
        ("Turkey", "en", "TR"),
        ("Ivory Coast", "en", "CI"),
        ("South Korea", "en", "KR"),
        ("Hong Kong", "en", "HK"),
        ("UAE", "en", "AE"),
        ("РФ", "ru", "RU"),
        ("рф", "ru", "RU"),
        ("Российская Федерация", "ru", "RU"),
        ("США", "ru", "US"),
        ("Америка", "ru", "US"),
        ("Англия", "ru", "GB"),
        ("Белоруссия", "ru", "BY"),
        ("EEUU", "es", "US"),
        ("EE. UU.", "es", "US"),
        ("Inglaterra", "es", "GB"),
        ("Angleterre", "fr", "GB"),
        ("Anglia", "pl", "GB"),
        # Languages Babel knows but the bot does not speak still get English.
        ("Germany", "de", "DE"),
        ("Deutschland", "de", "DE"),
        ("Germany", "xx", "DE"),
    ],
)
def test_parse_country_names_and_aliases(raw: str, language: str, expected: str) -> None:
    assert parse_country(raw, language) == expected


@pytest.mark.parametrize(
    ("raw", "language"),
    [
        ("", "en"),
        ("   ", "en"),
        ("Atlantis", "en"),
        ("EU", "en"),
        ("European Union", "en"),
        ("Europe", "en"),
        ("World", "en"),
        ("ZZ", "en"),
        ("Unknown Region", "en"),
        ("XA", "en"),
        ("QO", "en"),
        ("UN", "en"),
        ("AC", "en"),
        ("Canary Islands", "en"),
        # Close to a name, but not close enough to guess: Cayman Islands, South Africa.
        ("Canary Islnds", "en"),
        ("Africa", "es"),
        ("QQ", "en"),
        ("D", "en"),
        ("DEU", "en"),
        ("001", "en"),
        ("ДЕ", "ru"),
    ],
)
def test_parse_country_rejects(raw: str, language: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_country(raw, language)
    assert exc.value.message == COUNTRY_UNKNOWN


def _countries() -> list[str]:
    """Every code parse_country takes as a code: the countries, without regions and unions."""
    codes = []
    for code in Locale.parse("en").territories:
        if isinstance(code, str) and len(code) == 2 and code.isalpha():
            try:
                codes.append(parse_country(code, "en"))
            except Invalid:
                continue
    return codes


def test_every_country_name_round_trips_in_every_language() -> None:
    for language in LANGUAGES:
        territories = Locale.parse(language).territories
        for code in ("DE", "FR", "ES", "PL", "RU", "US", "GB", "BR", "JP", "UA", "KZ"):
            assert parse_country(str(territories[code]), language) == code


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_name_in_every_language_works_in_every_ui(language: str) -> None:
    countries = _countries()
    assert len(countries) > 240
    for name_language in LANGUAGES:
        territories = Locale.parse(name_language).territories
        for code in countries:
            assert parse_country(str(territories[code]), language) == code, name_language


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # The cases people reported: a name from another of the bot's languages.
        ("Polska", "PL"),
        ("España", "ES"),
        ("Espana", "ES"),
        ("Украина", "UA"),
        ("Niemcy", "DE"),
        ("Allemagne", "DE"),
        ("Alemania", "DE"),
        ("Германия", "DE"),
        ("Germany", "DE"),
        # Endonyms, in every official language of the country and script.
        ("Deutschland", "DE"),
        ("Україна", "UA"),
        ("Schweiz", "CH"),
        ("Suisse", "CH"),
        ("Svizzera", "CH"),
        ("Sverige", "SE"),
        ("Suomi", "FI"),
        ("Magyarország", "HU"),
        ("Ελλάδα", "GR"),
        ("Türkiye", "TR"),
        ("Србија", "RS"),
        ("Srbija", "RS"),
        ("België", "BE"),
        ("Belgique", "BE"),
        ("日本", "JP"),
        ("中国", "CN"),
        ("Беларусь", "BY"),
        ("Қазақстан", "KZ"),
        ("Kosovë", "XK"),
        ("Shqipëri", "AL"),
        ("PL", "PL"),
        ("de", "DE"),
    ],
)
def test_a_country_named_in_any_language_whatever_the_ui(
    raw: str, expected: str, language: str
) -> None:
    assert parse_country(raw, language) == expected


@pytest.mark.parametrize(
    ("raw", "language", "code", "shown"),
    [
        ("Germanyy", "en", "DE", "Germany"),
        ("Germanyy", "ru", "DE", "Германия"),
        ("Polsak", "en", "PL", "Poland"),
        ("Deutchland", "fr", "DE", "Allemagne"),
        ("Ukriane", "pl", "UA", "Ukraina"),
        ("Росия", "es", "RU", "Rusia"),
        ("Untied States", "en", "US", "United States"),
        ("Swtizerland", "en", "CH", "Switzerland"),
        # A language Babel knows names the guess in it; one it does not, in English.
        ("Germanyy", "de", "DE", "Deutschland"),
        ("Germanyy", "xx", "DE", "Germany"),
    ],
)
def test_a_typo_suggests_the_country_named_in_the_users_language(
    raw: str, language: str, code: str, shown: str
) -> None:
    with pytest.raises(CountryGuess) as exc:
        parse_country(raw, language)
    assert exc.value.message == COUNTRY_GUESS
    assert exc.value.code == code
    assert exc.value.params == {"country": shown}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("DE", ["Europe/Berlin", "Europe/Busingen"]),
        ("de", ["Europe/Berlin", "Europe/Busingen"]),
        ("PL", ["Europe/Warsaw"]),
        ("FR", ["Europe/Paris"]),
        ("XK", ["Europe/Belgrade"]),
        ("BV", []),
        ("QQ", []),
        ("EU", []),
        ("", []),
    ],
)
def test_zones_for_country(code: str, expected: list[str]) -> None:
    assert zones_for_country(code) == expected


@pytest.mark.parametrize(
    ("code", "main", "also"),
    [
        ("US", "America/New_York", "America/Los_Angeles"),
        ("RU", "Europe/Moscow", "Asia/Vladivostok"),
        ("CA", "America/Toronto", "America/Vancouver"),
        ("AU", "Australia/Sydney", "Australia/Perth"),
        ("BR", "America/Sao_Paulo", "America/Manaus"),
        ("MX", "America/Mexico_City", "America/Tijuana"),
        ("ES", "Europe/Madrid", "Atlantic/Canary"),
        ("PT", "Europe/Lisbon", "Atlantic/Azores"),
        ("KZ", "Asia/Almaty", "Asia/Aqtau"),
        ("UA", "Europe/Kyiv", "Europe/Simferopol"),
        ("AR", "America/Argentina/Buenos_Aires", "America/Argentina/Ushuaia"),
    ],
)
def test_zones_for_country_puts_the_main_zone_first(code: str, main: str, also: str) -> None:
    zones = zones_for_country(code)
    assert zones[0] == main
    assert also in zones
    assert len(zones) == len(set(zones))


@pytest.mark.parametrize(
    ("code", "offered"),
    [
        (
            "US",
            {
                "America/New_York",
                "America/Chicago",
                "America/Denver",
                "America/Phoenix",
                "America/Los_Angeles",
                "America/Anchorage",
                "Pacific/Honolulu",
            },
        ),
        (
            "CA",
            {
                "America/St_Johns",
                "America/Halifax",
                "America/Toronto",
                "America/Regina",
                "America/Edmonton",
                "America/Vancouver",
                "America/Whitehorse",
            },
        ),
        (
            "RU",
            {
                "Europe/Kaliningrad",
                "Europe/Moscow",
                "Europe/Samara",
                "Asia/Yekaterinburg",
                "Asia/Omsk",
                "Asia/Novosibirsk",
                "Asia/Krasnoyarsk",
                "Asia/Irkutsk",
                "Asia/Vladivostok",
                "Asia/Magadan",
                "Asia/Kamchatka",
            },
        ),
        ("BR", {"America/Sao_Paulo", "America/Cuiaba", "America/Noronha", "America/Eirunepe"}),
        ("AU", {"Australia/Sydney", "Australia/Adelaide", "Australia/Perth"}),
    ],
)
def test_the_zones_offered_as_buttons_cover_every_clock_of_the_country(
    code: str, offered: set[str]
) -> None:
    """The question shows only the first few: a person in Los Angeles or Yekaterinburg finds
    their zone among them."""
    shown = zones_for_country(code)[:MAX_ZONE_BUTTONS]
    assert offered <= set(shown), offered - set(shown)


def test_zones_for_country_returns_a_fresh_list() -> None:
    zones = zones_for_country("DE")
    zones.clear()
    assert zones_for_country("DE") == ["Europe/Berlin", "Europe/Busingen"]


def test_every_country_zone_loads() -> None:
    available = zoneinfo.available_timezones()
    for code in Locale.parse("en").territories:
        if not isinstance(code, str) or len(code) != 2:
            continue
        for zone in zones_for_country(code):
            assert zone in available
            assert zoneinfo.ZoneInfo(zone).key == zone


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        ("PL", "Europe/Warsaw"),
        ("pl", "Europe/Warsaw"),
        ("RU", "Europe/Moscow"),
        ("US", "America/New_York"),
        ("GB", "Europe/London"),
        ("ES", "Europe/Madrid"),
        ("XK", "Europe/Belgrade"),
        ("BV", None),
        ("QQ", None),
    ],
)
def test_the_main_zone_is_offered_first(country: str, expected: str | None) -> None:
    zones = zones_for_country(country)
    assert (zones[0] if zones else None) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Europe/Warsaw", "Europe/Warsaw"),
        ("europe/warsaw", "Europe/Warsaw"),
        ("EUROPE/WARSAW", "Europe/Warsaw"),
        ("  Europe/Warsaw  ", "Europe/Warsaw"),
        ("Europe / Warsaw", "Europe/Warsaw"),
        ("America/New_York", "America/New_York"),
        ("america/new york", "America/New_York"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("america/indiana/indianapolis", "America/Indiana/Indianapolis"),
        ("Asia/Kolkata", "Asia/Kolkata"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("Etc/UTC", "UTC"),
        ("Zulu", "UTC"),
        # Old names come back as today's.
        ("Europe/Kiev", "Europe/Kyiv"),
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("US/Eastern", "America/New_York"),
        ("Poland", "Europe/Warsaw"),
        # A city on its own, when it names one zone.
        ("Warsaw", "Europe/Warsaw"),
        ("warsaw", "Europe/Warsaw"),
        ("new york", "America/New_York"),
        ("New_York", "America/New_York"),
        ("buenos aires", "America/Argentina/Buenos_Aires"),
        ("kiev", "Europe/Kyiv"),
        ("Kyiv", "Europe/Kyiv"),
        ("moscow", "Europe/Moscow"),
    ],
)
def test_parse_timezone_accepts(raw: str, expected: str) -> None:
    assert parse_timezone(raw) == expected
    assert zoneinfo.ZoneInfo(parse_timezone(raw)).key == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("eastern", "US", "America/New_York"),
        ("eastern", "us", "America/New_York"),
        ("eastern", "CA", "America/Toronto"),
        ("pacific", "US", "America/Los_Angeles"),
        ("Pacific", "CA", "America/Vancouver"),
        ("central", "US", "America/Chicago"),
        # An exact name wins whatever the country: people live abroad.
        ("Europe/Warsaw", "US", "Europe/Warsaw"),
        ("warsaw", "US", "Europe/Warsaw"),
        ("UTC", "PL", "UTC"),
    ],
)
def test_parse_timezone_uses_country_to_settle_ambiguity(
    raw: str, country: str, expected: str
) -> None:
    assert parse_timezone(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("", None),
        ("   ", None),
        ("Mars/Olympus_Mons", None),
        ("Europe/Warsawa", None),
        ("Europe/", None),
        ("/", None),
        ("Europe", None),
        ("localtime", None),
        ("Factory", None),
        ("GMT+3", None),
        ("UTC+3", None),
        ("+03:00", None),
        ("eastern", None),
        ("../../etc/passwd", None),
        ("Europe/Warsaw\x00", None),
    ],
)
def test_parse_timezone_rejects(raw: str, country: str | None) -> None:
    with pytest.raises(Invalid) as exc:
        parse_timezone(raw, country)
    assert exc.value.message == TIMEZONE_UNKNOWN


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        # Read against the person's country, not the zone that happens to bear the name.
        ("CET", "PL", ["Europe/Warsaw"]),
        ("cet", "pl", ["Europe/Warsaw"]),
        (" CEST ", "PL", ["Europe/Warsaw"]),
        ("CET", "DE", ["Europe/Berlin", "Europe/Busingen"]),
        ("GMT", "GB", ["Europe/London"]),
        ("BST", "GB", ["Europe/London"]),
        ("IST", "IN", ["Asia/Kolkata"]),
        ("IST", "IE", ["Europe/Dublin"]),
        ("IST", "IL", ["Asia/Jerusalem"]),
        ("CST", "CN", ["Asia/Shanghai"]),
        ("MSK", "RU", ["Europe/Moscow", "Europe/Volgograd", "Europe/Kirov"]),
        ("PST", "US", ["America/Los_Angeles"]),
        ("EET", "UA", ["Europe/Kyiv"]),
        ("ChST", "GU", ["Pacific/Guam"]),
    ],
)
def test_zones_for_abbreviation(raw: str, country: str, expected: list[str]) -> None:
    assert zones_for_abbreviation(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country", "first", "also", "never"),
    [
        ("EST", "US", "America/New_York", "America/Detroit", "America/Chicago"),
        ("CST", "US", "America/Chicago", "America/Menominee", "America/New_York"),
        # No main zone among them: the region's reference zone leads.
        ("MST", "US", "America/Denver", "America/Phoenix", "America/Los_Angeles"),
        ("EST", "CA", "America/Toronto", "America/Iqaluit", "America/Vancouver"),
        ("AEST", "AU", "Australia/Sydney", "Australia/Brisbane", "Australia/Perth"),
    ],
)
def test_zones_for_abbreviation_with_several_fits(
    raw: str, country: str, first: str, also: str, never: str
) -> None:
    zones = zones_for_abbreviation(raw, country)
    assert zones is not None
    assert zones[0] == first
    assert also in zones
    assert never not in zones
    assert set(zones) <= set(zones_for_country(country))


@pytest.mark.parametrize(
    "raw", ["Europe/Warsaw", "warsaw", "UTC", "utc", "Etc/UTC", "Poland", "eastern", "", "CE T"]
)
def test_zones_for_abbreviation_leaves_other_answers_alone(raw: str) -> None:
    assert zones_for_abbreviation(raw, "PL") is None


@pytest.mark.parametrize(
    ("raw", "country", "abbreviation", "zones"),
    [
        ("EST", "PL", "EST", "Europe/Warsaw"),
        ("GMT", "PL", "GMT", "Europe/Warsaw"),
        ("gmt", "pl", "GMT", "Europe/Warsaw"),
        ("PST", "DE", "PST", "Europe/Berlin, Europe/Busingen"),
        ("CET", "US", "CET", ", ".join(zones_for_country("US"))),
    ],
)
def test_an_abbreviation_not_used_in_the_country_lists_its_zones(
    raw: str, country: str, abbreviation: str, zones: str
) -> None:
    with pytest.raises(Invalid) as exc:
        zones_for_abbreviation(raw, country)
    assert exc.value.message == ABBREVIATION_ELSEWHERE
    assert exc.value.params == {"abbreviation": abbreviation, "zones": zones}


def test_an_abbreviation_in_a_country_without_zones() -> None:
    with pytest.raises(Invalid) as exc:
        zones_for_abbreviation("GMT", "BV")
    assert exc.value.message == TIMEZONE_UNKNOWN


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        # Cities no zone is named after, found among their country's, accents or not.
        ("Barcelona", "ES", "Europe/Madrid"),
        ("Kraków", "PL", "Europe/Warsaw"),
        ("krakow", "PL", "Europe/Warsaw"),
        ("KRAKOW", "PL", "Europe/Warsaw"),
        ("Cracovie", "PL", "Europe/Warsaw"),
        ("Краков", "PL", "Europe/Warsaw"),
        ("Łódź", "PL", "Europe/Warsaw"),
        ("Lodz", "PL", "Europe/Warsaw"),
        ("Kraków, Poland", "PL", "Europe/Warsaw"),
        ("Hamburg", "DE", "Europe/Berlin"),
        ("Las Palmas de Gran Canaria", "ES", "Atlantic/Canary"),
        ("Santa Cruz de Tenerife", "ES", "Atlantic/Canary"),
        ("Sevilla", "ES", "Europe/Madrid"),
        ("Seville", "ES", "Europe/Madrid"),
        ("Los Angeles", "US", "America/Los_Angeles"),
        ("san francisco", "US", "America/Los_Angeles"),
        ("Miami", "US", "America/New_York"),
        ("Vancouver", "CA", "America/Vancouver"),
        ("Montréal", "CA", "America/Toronto"),
        ("montreal", "CA", "America/Toronto"),
        ("Calgary", "CA", "America/Edmonton"),
        ("Новосибирск", "RU", "Asia/Novosibirsk"),
        ("Ekaterinburg", "RU", "Asia/Yekaterinburg"),
        ("Екатеринбург", "RU", "Asia/Yekaterinburg"),
        ("Perth", "AU", "Australia/Perth"),
        ("Guadalajara", "MX", "America/Mexico_City"),
        # The country's own city first: Vancouver, Washington keeps Pacific time too.
        ("Vancouver", "US", "America/Los_Angeles"),
        # A city elsewhere that names a zone still counts: people give the zone they keep.
        ("Tokyo", "PL", "Asia/Tokyo"),
    ],
)
def test_parse_timezone_finds_a_city_of_the_country(raw: str, country: str, expected: str) -> None:
    assert parse_timezone(raw, country) == expected


def test_places_of_one_name_in_several_zones_are_offered_to_choose() -> None:
    with pytest.raises(CityInZones) as exc:
        parse_timezone("Springfield", "US")
    assert exc.value.city == "Springfield"
    assert set(exc.value.zones) >= {"America/Chicago", "America/New_York"}
    assert exc.value.message == CITY_IN_ZONES
    assert exc.value.params["zones"] == ", ".join(exc.value.zones)


@pytest.mark.parametrize(
    ("raw", "country", "example"),
    [("Atlantis", "ES", "Europe/Madrid"), ("eastern", "DE", "Europe/Berlin"), ("x", "BV", "UTC")],
)
def test_a_place_the_country_does_not_have_is_refused_with_its_zone(
    raw: str, country: str, example: str
) -> None:
    with pytest.raises(Invalid) as exc:
        parse_timezone(raw, country)
    assert exc.value.message == PLACE_UNKNOWN
    assert exc.value.params == {"example": example}


@pytest.mark.parametrize("raw", ["CET", "EST", "GMT", "MST", "HST", "EET", "WET", "MET", "cet"])
@pytest.mark.parametrize("country", [None, "PL", "US"])
def test_parse_timezone_never_reads_an_abbreviation_as_a_zone(
    raw: str, country: str | None
) -> None:
    # tzdata keeps CET, EST and GMT as zones (Brussels, Panama and Etc/GMT today): taken
    # silently, a person in Poland typing CET would get Brussels' clock.
    with pytest.raises(Invalid) as exc:
        parse_timezone(raw, country)
    assert exc.value.message == TIMEZONE_UNKNOWN
