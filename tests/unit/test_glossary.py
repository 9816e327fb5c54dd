"""One name for one thing in each language: a person told their "kod rabatowy" in one
message and their "kod promocyjny" in the next wonders whether they hold two codes."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR

# For each language: a term of the English source, the stem its translation uses, and the
# other names for the same thing (patterns) that must not appear beside it.
GLOSSARY = {
    "ru": {
        "promo code": ("промокод", [r"промо-код", r"код скидки"]),
        "deadline": ("срок", [r"дедлайн"]),
    },
    "fr": {"promo code": ("code promo", [r"code promotionnel", r"code de réduction"])},
    "es": {"promo code": ("código promocional", [r"código promo\b", r"código de descuento"])},
    "pl": {"promo code": ("kod rabatow", [r"promocyjn"]), "deadline": ("termin", [r"deadline"])},
}
PLACEHOLDER = re.compile(r"\{\w*\}")


def translations(language: str) -> list[tuple[str, str]]:
    with (LOCALES_DIR / language / "LC_MESSAGES" / "kolbot.po").open("rb") as handle:
        catalog = read_po(handle)
    pairs = []
    for message in catalog:
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        source = PLACEHOLDER.sub("", str(sources[-1]))
        pairs += [(source, PLACEHOLDER.sub("", str(text))) for text in texts]
    return pairs


@pytest.mark.parametrize("language", sorted(GLOSSARY))
def test_each_thing_has_one_name(language: str) -> None:
    for term, (stem, others) in GLOSSARY[language].items():
        for source, text in translations(language):
            if re.search(rf"\b{term}\b", source, re.IGNORECASE):
                assert stem in text.lower(), (term, text)
            for other in others:
                assert re.search(other, text.lower()) is None, (term, other, text)
