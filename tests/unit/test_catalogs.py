"""Every message the code can say is translated in every language, placeholders intact."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, LOCALES_DIR, translator

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{\w*\}")
COMMAND = re.compile(r"(?<![\w/])/[a-z]+\b")


def load(language: str) -> Catalog:
    with (LOCALES_DIR / language / "LC_MESSAGES" / "kolbot.po").open("rb") as handle:
        return read_po(handle)


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str | None, str]]:
    """Extract from the source now, so a new message without a translation fails here."""
    pot = tmp_path_factory.mktemp("pot") / "kolbot.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "-k",
            "NC_:1c,2",
            "-o",
            str(pot),
            "--no-location",
            "bot",
            "handlers",
            "jobs",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        return {(m.context, str(m.id)) for m in read_po(handle) if m.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(
    language: str, source_messages: set[tuple[str | None, str]]
) -> None:
    catalog = load(language)
    translated = {
        (m.context, str(m.id)): m.string
        for m in catalog
        if m.id
        and m.string
        and "fuzzy" not in m.flags
        and (not isinstance(m.string, tuple) or all(m.string))
    }
    missing = sorted(msgid for msgid in source_messages if msgid not in translated)
    assert not missing, f"{language}: {len(missing)} untranslated, e.g. {missing[:3]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_placeholders_and_commands(language: str) -> None:
    for message in load(language):
        if not message.id or not message.string:
            continue
        # A plural entry has several source forms and one translation per plural form.
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = sorted(PLACEHOLDER.findall(str(sources[-1])))
        commands = sorted(COMMAND.findall(str(sources[-1])))
        for text in texts:
            assert text, sources
            assert sorted(PLACEHOLDER.findall(str(text))) == expected, sources
            assert sorted(COMMAND.findall(str(text))) == commands, sources
        if message.context == "command name":
            assert re.fullmatch(r"[-_\w]{1,32}", str(texts[0])), texts
            assert str(texts[0]) == str(texts[0]).lower(), texts


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_compiled_catalogs_are_loaded(language: str) -> None:
    assert translator(language)._("Choose your language:") != "Choose your language:"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogs_hold_only_what_the_source_says(
    language: str, source_messages: set[tuple[str | None, str]]
) -> None:
    """A message the code no longer says, live or kept as obsolete, is dead weight that a
    translator would still be asked to keep up."""
    catalog = load(language)
    stale = sorted(
        (m.context, str(m.id))
        for m in catalog
        if m.id and (m.context, str(m.id)) not in source_messages
    )
    assert not stale, f"{language}: {len(stale)} not in the source, e.g. {stale[:3]}"
    assert not catalog.obsolete, f"{language}: obsolete entries {list(catalog.obsolete)[:3]}"
