"""Where payouts go: a PayPal email or an IBAN, checked before money is sent to a typo.

Only the masked forms are meant for chat transcripts and logs; the full values stay in storage.
"""

from __future__ import annotations

import re
from typing import Final

from bot.i18n import N_
from handlers.validators.errors import Invalid

EMAIL_INVALID: Final = N_(
    "That does not look like an email address: it should look like name@example.com."
)
IBAN_FORMAT: Final = N_(
    "That does not look like an IBAN: it starts with two letters and two digits, like"
    " DE89 3704 0044 0532 0130 00."
)
IBAN_COUNTRY: Final = N_(
    "IBANs do not start with {country}: please check the two letters at the start."
)
IBAN_LENGTH: Final = N_(
    "IBANs starting with {country} have {length} characters, but this one has {actual}."
)
IBAN_CHECKSUM: Final = N_(
    "That IBAN has a typo somewhere: its check digits do not match. Please copy it again."
)

_EMAIL_MAX: Final = 254
_LOCAL_MAX: Final = 64
# The dot-atom of RFC 5322: no quoted local parts, which no payment provider accepts anyway.
_LOCAL: Final = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
)
_LABEL: Final = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
# Letters, or an internationalised TLD in its ASCII (punycode) form such as xn--p1ai.
_TLD: Final = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}(?<!-)")

# SWIFT IBAN registry: country code -> IBAN length.
IBAN_LENGTHS: Final[dict[str, int]] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
_IBAN_SHAPE: Final = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]*")


def parse_paypal_email(raw: str) -> str:
    """The address with its domain lowercased; the local part keeps its case, as mail allows."""
    text = raw.strip()
    local, at, domain = text.rpartition("@")
    domain = domain.lower()
    labels = domain.split(".")
    if (
        not at
        or len(text) > _EMAIL_MAX
        or not text.isascii()
        or len(local) > _LOCAL_MAX
        or not _LOCAL.fullmatch(local)
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or not _TLD.fullmatch(labels[-1])
    ):
        raise Invalid(EMAIL_INVALID)
    return f"{local}@{domain}"


def _compact(raw: str) -> str:
    text = "".join(raw.split()).replace("-", "").upper()
    # People paste the label along with the number: "IBAN: DE89 ...".
    return text.removeprefix("IBAN").removeprefix(":")


def _checksum_ok(iban: str) -> bool:
    # ISO 7064 MOD 97-10: the country and check digits move to the end, letters become 10..35.
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def parse_iban(raw: str) -> str:
    """The IBAN without spaces, uppercase, with a length and checksum the bank will accept."""
    iban = _compact(raw)
    if not iban.isascii() or not _IBAN_SHAPE.fullmatch(iban):
        raise Invalid(IBAN_FORMAT)
    country = iban[:2]
    length = IBAN_LENGTHS.get(country)
    if length is None:
        raise Invalid(IBAN_COUNTRY, country=country)
    if len(iban) != length:
        raise Invalid(IBAN_LENGTH, country=country, length=length, actual=len(iban))
    if not _checksum_ok(iban):
        raise Invalid(IBAN_CHECKSUM)
    return iban


def mask_iban(iban: str) -> str:
    """Enough to recognise one's own account, too little to reuse it."""
    compact = "".join(iban.split()).upper()
    return f"{compact[:4]} **** {compact[-4:]}"


def mask_email(email: str) -> str:
    """The first letter and the domain: recognisable to its owner, useless to a scraper."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}***@{domain}"
