"""The validators' msgids are what translators see: literal, few, and renderable."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

import handlers.validators
from bot.i18n import LANGUAGES, translator

VALIDATORS = Path(handlers.validators.__file__).parent


def _msgids() -> list[str]:
    found: list[str] = []
    for path in sorted(VALIDATORS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "N_":
                assert len(node.args) == 1, f"{path.name}:{node.lineno}"
                argument = node.args[0]
                # An f-string or a variable would reach the catalog as something no one translated.
                assert isinstance(argument, ast.Constant), f"{path.name}:{node.lineno}"
                assert isinstance(argument.value, str), f"{path.name}:{node.lineno}"
                found.append(argument.value)
    return found


MSGIDS = _msgids()


def _placeholders(msgid: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(msgid) if name is not None}


def test_validators_keep_the_catalog_small() -> None:
    assert len(MSGIDS) == len(set(MSGIDS)), "each message should be defined once"
    assert 0 < len(MSGIDS) <= 25


@pytest.mark.parametrize("msgid", MSGIDS)
def test_msgid_is_short_and_uses_known_placeholders(msgid: str) -> None:
    assert msgid == msgid.strip()
    assert len(msgid) <= 160
    assert _placeholders(msgid) <= {"max", "min", "network", "country", "length", "actual"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("msgid", MSGIDS)
def test_msgid_renders_in_every_language(msgid: str, language: str) -> None:
    params = {name: "1" for name in _placeholders(msgid)}
    rendered = translator(language)._(msgid, **params)
    assert rendered
    assert "{" not in rendered
