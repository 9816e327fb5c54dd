from __future__ import annotations

import pytest

from handlers.validators import (
    Invalid,
    mask_email,
    mask_iban,
    parse_iban,
    parse_paypal_email,
)
from handlers.validators.payout import (
    EMAIL_INVALID,
    IBAN_CHECKSUM,
    IBAN_COUNTRY,
    IBAN_FORMAT,
    IBAN_LENGTH,
    IBAN_LENGTHS,
)

# Examples published in the SWIFT IBAN registry and by national banks.
REAL_IBANS = [
    "DE89370400440532013000",
    "GB82WEST12345698765432",
    "GB29NWBK60161331926819",
    "FR1420041010050500013M02606",
    "PL61109010140000071219812874",
    "ES9121000418450200051332",
    "NL91ABNA0417164300",
    "BE68539007547034",
    "CH9300762011623852957",
    "IT60X0542811101000000123456",
    "NO9386011117947",
    "AT611904300234573201",
    "SE4550000000058398257466",
    "MT84MALT011000012345MTLCAST001S",
    "SA0380000000608010167519",
    "UA213223130000026007233566001",
    "LC55HEMM000100010012001200023015",
    "RU0204452560040702810412345678901",
]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("name@example.com", "name@example.com"),
        ("  name@example.com  ", "name@example.com"),
        ("Name@Example.COM", "Name@example.com"),
        ("first.last@example.co.uk", "first.last@example.co.uk"),
        ("first+tag@sub.example.org", "first+tag@sub.example.org"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("a_b-c@ex-ample.com", "a_b-c@ex-ample.com"),
        ("x@a.io", "x@a.io"),
        ("user@mail.xn--p1ai", "user@mail.xn--p1ai"),
        ("123@456.example", "123@456.example"),
        ("a" * 64 + "@example.com", "a" * 64 + "@example.com"),
        ("a@" + "b" * 63 + ".com", "a@" + "b" * 63 + ".com"),
        # 64 + 1 + 63 + 1 + 63 + 1 + 61 = 254 characters, the most an address can have.
        (
            "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com",
            "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com",
        ),
    ],
)
def test_parse_paypal_email_accepts(raw: str, expected: str) -> None:
    assert parse_paypal_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "name",
        "name@",
        "@example.com",
        "name@example",
        "name@@example.com",
        "na@me@example.com",
        "name@example..com",
        "name@.example.com",
        "name@example.com.",
        "name@-example.com",
        "name@example-.com",
        "name@exa_mple.com",
        "name@example.c",
        "name@example.c0m",
        "name@example.123",
        "name@example.xn--",
        "na me@example.com",
        "name@exa mple.com",
        "name @example.com",
        ".name@example.com",
        "name.@example.com",
        "na..me@example.com",
        '"quoted"@example.com',
        "name(comment)@example.com",
        "j\u00f6rg@example.com",
        "name@b\u00fccher.de",
        "name@[127.0.0.1]",
        "a" * 65 + "@example.com",
        "a@" + "b" * 64 + ".com",
        "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".com",
        "mailto:name@example.com",
        "name@example.com, other@example.com",
    ],
)
def test_parse_paypal_email_rejects(raw: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_paypal_email(raw)
    assert exc.value.message == EMAIL_INVALID


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("john@example.com", "j***@example.com"),
        ("j@example.com", "j***@example.com"),
        ("First.Last+tag@mail.example.org", "F***@mail.example.org"),
    ],
)
def test_mask_email(email: str, masked: str) -> None:
    assert mask_email(email) == masked


@pytest.mark.parametrize("iban", REAL_IBANS)
def test_parse_iban_accepts_real_ibans(iban: str) -> None:
    assert parse_iban(iban) == iban


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("de89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("  DE89-3704-0044-0532-0130-00  ", "DE89370400440532013000"),
        ("DE89\u00a03704\u00a00044\u00a00532\u00a00130\u00a000", "DE89370400440532013000"),
        ("DE89\t3704\n0044 0532 0130 00", "DE89370400440532013000"),
        ("IBAN DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("IBAN: DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("fr14 2004 1010 0505 0001 3m02 606", "FR1420041010050500013M02606"),
        ("PL61 1090 1014 0000 0712 1981 2874", "PL61109010140000071219812874"),
        ("ES91 2100 0418 4502 0005 1332", "ES9121000418450200051332"),
        ("GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"),
    ],
)
def test_parse_iban_normalises(raw: str, expected: str) -> None:
    assert parse_iban(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "DE88370400440532013000",
        "DE89370400440532013001",
        "DE89370400440523013000",
        "GB82WEST12345698765433",
        "GB82TEST12345698765432",
        "FR1420041010050500013M02607",
        "PL61109010140000071219812875",
        "ES9121000418450200051333",
        "NL91ABNA0417164301",
        "DE00370400440532013000",
        "DE99370400440532013000",
    ],
)
def test_parse_iban_rejects_bad_checksum(raw: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_iban(raw)
    assert exc.value.message == IBAN_CHECKSUM


@pytest.mark.parametrize(
    ("raw", "country", "length", "actual"),
    [
        ("DE8937040044053201300", "DE", 22, 21),
        ("DE893704004405320130000", "DE", 22, 23),
        ("DE89", "DE", 22, 4),
        ("GB82WEST1234569876543", "GB", 22, 21),
        ("FR1420041010050500013M0260", "FR", 27, 26),
        ("PL6110901014000007121981287", "PL", 28, 27),
        ("ES91210004184502000513321", "ES", 24, 25),
        ("NO93860111179470", "NO", 15, 16),
    ],
)
def test_parse_iban_rejects_wrong_length(raw: str, country: str, length: int, actual: int) -> None:
    with pytest.raises(Invalid) as exc:
        parse_iban(raw)
    assert exc.value.message == IBAN_LENGTH
    assert exc.value.params == {"country": country, "length": length, "actual": actual}


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("US12345678901234567890", "US"),
        ("CA12 3456 7890 1234", "CA"),
        ("ZZ89370400440532013000", "ZZ"),
        ("AA89370400440532013000", "AA"),
        ("CN12345678901234567890", "CN"),
    ],
)
def test_parse_iban_rejects_unknown_country(raw: str, country: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_iban(raw)
    assert exc.value.message == IBAN_COUNTRY
    assert exc.value.params == {"country": country}


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "IBAN",
        "D",
        "DE",
        "DE8",
        "12345678901234567890",
        "DEAB370400440532013000",
        "D189370400440532013000",
        "DE89 3704 0044 0532 0130 0\u20ac",
        "DE89.3704.0044.0532.0130.00",
        "DE89_3704_0044_0532_0130_00",
        "DE89/370400440532013000",
        "\u0414\u041589370400440532013000",
        "DE\uff18\uff19370400440532013000",
        "name@example.com",
    ],
)
def test_parse_iban_rejects_non_ibans(raw: str) -> None:
    with pytest.raises(Invalid) as exc:
        parse_iban(raw)
    assert exc.value.message == IBAN_FORMAT


def test_parse_iban_checks_length_before_checksum() -> None:
    # Wrong length and wrong checksum: the length is the more useful thing to hear about.
    with pytest.raises(Invalid) as exc:
        parse_iban("DE0037040044053201300")
    assert exc.value.message == IBAN_LENGTH


def test_iban_length_table_is_the_swift_registry() -> None:
    assert len(IBAN_LENGTHS) == 89
    assert all(len(code) == 2 and code.isupper() for code in IBAN_LENGTHS)
    assert all(15 <= length <= 34 for length in IBAN_LENGTHS.values())
    expected = {"DE": 22, "GB": 22, "FR": 27, "PL": 28, "ES": 24, "NO": 15, "RU": 33, "LC": 32}
    assert {code: IBAN_LENGTHS[code] for code in expected} == expected
    for iban in REAL_IBANS:
        assert IBAN_LENGTHS[iban[:2]] == len(iban)


@pytest.mark.parametrize(
    ("iban", "masked"),
    [
        ("DE89370400440532013000", "DE89 **** 3000"),
        ("GB82WEST12345698765432", "GB82 **** 5432"),
        ("FR1420041010050500013M02606", "FR14 **** 2606"),
        ("DE89 3704 0044 0532 0130 00", "DE89 **** 3000"),
    ],
)
def test_mask_iban(iban: str, masked: str) -> None:
    assert mask_iban(iban) == masked
