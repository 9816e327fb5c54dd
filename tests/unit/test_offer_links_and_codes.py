"""Tracking links and promo codes: what an influencer pastes and types."""

from __future__ import annotations

import re

from bot.services.offers import CODE_ALPHABET, code_prefix, new_promo_code, new_ref, tracking_link


def test_the_ref_is_added_and_everything_else_kept() -> None:
    assert tracking_link("https://shop.example/p", "1f-abc") == "https://shop.example/p?ref=1f-abc"
    assert (
        tracking_link("https://shop.example/p?utm_source=x&empty=&a=1#top", "r1")
        == "https://shop.example/p?utm_source=x&empty=&a=1&ref=r1#top"
    )


def test_a_ref_already_in_the_landing_url_is_replaced_not_doubled() -> None:
    assert tracking_link("https://shop.example/?ref=agency&b=2", "r9") == (
        "https://shop.example/?b=2&ref=r9"
    )


def test_refs_are_unique_per_offer_and_random_after_it() -> None:
    refs = {new_ref(255) for _ in range(50)}
    assert len(refs) == 50
    assert all(re.fullmatch(r"ff-[a-z2-9]{6}", ref) for ref in refs)
    assert new_ref(1).startswith("1-")


def test_codes_are_easy_to_read_and_type() -> None:
    assert set(CODE_ALPHABET).isdisjoint("0O1I")
    assert code_prefix("Zoé") == "ZOE"
    assert code_prefix("Łukasz") == "LUK"
    assert code_prefix("Søren") == "SOR"
    assert code_prefix("Анна", "Acme") == "ACM"  # no Latin letters: the brand's
    assert code_prefix("Ю", "Я") == "KOL"
    code = new_promo_code("ZOE")
    assert re.fullmatch(r"ZOE-[A-HJ-NP-Z2-9]{4}", code)
