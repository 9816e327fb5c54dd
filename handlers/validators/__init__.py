"""Onboarding answers checked and normalised without knowing which chat platform asked.

Every function takes what the user typed and returns the value to store, or raises ``Invalid``
with an untranslated message for the conversation to render in the user's language.
"""

from handlers.validators.errors import Invalid
from handlers.validators.geo import (
    CityInZones,
    CountryGuess,
    parse_country,
    parse_timezone,
    zones_for_abbreviation,
    zones_for_country,
)
from handlers.validators.numbers import AmbiguousCount, parse_follower_count
from handlers.validators.payout import (
    mask_email,
    mask_iban,
    parse_iban,
    parse_paypal_email,
)
from handlers.validators.social import NETWORK_LABELS, NETWORKS, parse_handle
from handlers.validators.text import clean_text, parse_name

__all__ = [
    "NETWORKS",
    "NETWORK_LABELS",
    "AmbiguousCount",
    "CityInZones",
    "CountryGuess",
    "Invalid",
    "clean_text",
    "mask_email",
    "mask_iban",
    "parse_country",
    "parse_follower_count",
    "parse_handle",
    "parse_iban",
    "parse_name",
    "parse_paypal_email",
    "parse_timezone",
    "zones_for_abbreviation",
    "zones_for_country",
]
