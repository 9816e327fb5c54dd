"""The validators' msgids are what translators see: literal, few, and renderable."""

from __future__ import annotations

import ast
import string
from pathlib import Path
from typing import Final

import pytest
from babel.messages.pofile import read_po

import handlers.validators
from bot.i18n import LANGUAGES, LOCALES_DIR, translator
from handlers.validators import NETWORK_LABELS

VALIDATORS = Path(handlers.validators.__file__).parent


def _msgids() -> dict[str, list[str]]:
    """Each module's msgids."""
    modules: dict[str, list[str]] = {}
    for path in sorted(VALIDATORS.glob("*.py")):
        found = modules.setdefault(path.name, [])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "N_":
                assert len(node.args) == 1, f"{path.name}:{node.lineno}"
                argument = node.args[0]
                # An f-string or a variable would reach the catalog as something no one translated.
                assert isinstance(argument, ast.Constant), f"{path.name}:{node.lineno}"
                assert isinstance(argument.value, str), f"{path.name}:{node.lineno}"
                found.append(argument.value)
    return modules


MODULES = _msgids()
MSGIDS = [msgid for found in MODULES.values() for msgid in found]


def _placeholders(msgid: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(msgid) if name is not None}


def test_validators_keep_the_catalog_small() -> None:
    assert len(MSGIDS) == len(set(MSGIDS)), "each message should be defined once"
    assert MSGIDS
    for module, found in MODULES.items():
        assert len(found) <= 30, module


@pytest.mark.parametrize("msgid", MSGIDS)
def test_msgid_is_short_and_uses_known_placeholders(msgid: str) -> None:
    assert msgid == msgid.strip()
    assert len(msgid) <= 160
    known = {"max", "min", "network", "country", "length", "actual", "abbreviation", "zones"}
    # Campaign fields: the examples and the part of the answer that was wrong.
    known |= {"percent", "amount", "currency", "digits", "typed", "topic", "example", "networks"}
    # A count read two ways, and the account a post's link names beside the person's own.
    known |= {"thousand", "million", "account", "yours"}
    assert _placeholders(msgid) <= known


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("msgid", MSGIDS)
def test_msgid_renders_in_every_language(msgid: str, language: str) -> None:
    params = {name: "1" for name in _placeholders(msgid)}
    rendered = translator(language)._(msgid, **params)
    assert rendered
    assert "{" not in rendered


# Words that cannot stand right before a network's name for every name: English and French
# articles agree with how the name sounds ("a Instagram", "le Instagram" for l’Instagram),
# Polish prepositions need the name declined ("na Instagram" for "na Instagramie").
_CLASHING: Final = {
    "en": {"a", "an"},
    "fr": {"un", "une", "le", "la", "de", "du", "que"},
    "es": {"un", "una", "el", "la"},
    "pl": {"na", "w", "we", "z", "ze", "do", "o", "od", "przez"},
    "ru": set(),
}


def _network_sentences(language: str) -> list[str]:
    path = LOCALES_DIR / language / "LC_MESSAGES" / "kolbot.po"
    with path.open("rb") as po:
        catalog = read_po(po)
    sentences: list[str] = []
    for message in catalog:
        string = message.string
        forms = string if isinstance(string, tuple | list) else (string or "",)
        sentences += [form for form in forms if isinstance(form, str) and "{network}" in form]
    return sentences


@pytest.mark.parametrize("language", LANGUAGES)
def test_sentences_fit_every_network_name(language: str) -> None:
    sentences = _network_sentences(language)
    assert sentences
    for sentence in sentences:
        before = sentence.split("{network}")[:-1]
        for text in before:
            words = text.rstrip().split()
            previous = words[-1].casefold() if words and text.endswith(" ") else ""
            assert previous not in _CLASHING[language], sentence


@pytest.mark.parametrize("network", NETWORK_LABELS.values())
def test_wrong_network_reads_well_for_every_network(network: str) -> None:
    text = translator("en")._(handlers.validators.social.WRONG_NETWORK, network=network)
    assert f" a {network}" not in text
    assert f" an {network}" not in text
