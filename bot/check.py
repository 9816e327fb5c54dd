"""``kolbot check``: is this installation ready to run, and what would it run?

Each part (settings, database, key, catalogs, what would run) adds what it found, or one line per
problem. Nothing is started, nothing is created, and nothing is written to the database: its
write test is rolled back.
"""

from __future__ import annotations

import gettext
import sqlite3
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from bot.core.platform import Platform
from bot.core.router import Command
from bot.i18n import DOMAIN, LANGUAGES, LOCALES_DIR
from bot.services.sealing import key_source
from bot.setting_problems import not_utf8, setting_problems, unknown_settings
from bot.settings import Settings
from bot.web import WebServer
from storage.sealing import (
    EMPTY_PASSPHRASE,
    KeySource,
    KeyUnusable,
    Sealer,
    fernet_key,
    read_key_file,
)
from storage.sqlite.database import NotKolbotDatabase, check_ours, migrations
from storage.sqlite.probe import probe, sealing

PlatformBuilder = Callable[[Settings, Sequence[Command]], list[Platform]]


@dataclass
class Report:
    """What was found, as (topic, text) lines, and every problem, one line each."""

    found: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, topic: str, text: str) -> None:
        self.found.append((topic, text))

    def problem(self, text: str) -> None:
        self.problems.append(text)


def check_catalogs(report: Report) -> None:
    """Every language's compiled catalog is there and readable: gettext would otherwise fall
    back to English without a word."""
    found = []
    for language in LANGUAGES:
        path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
        try:
            with path.open("rb") as handle:
                gettext.GNUTranslations(handle)
        except FileNotFoundError:
            report.problem(
                f"catalog {language} is missing ({path}): its speakers would read English; "
                "reinstall kolbot (a checkout: make setup)"
            )
        except OSError as error:
            report.problem(f"catalog {language} ({path}) cannot be read: {error}")
        else:
            found.append(language)
    if found:
        report.add("catalogs", " ".join(found))


def check_database(settings: Settings, report: Report) -> None:
    """Migrated to the version of this kolbot, and writable (the write is rolled back)."""
    path = settings.database
    if not path.parent.is_dir():
        report.problem(
            f"database {path}: the folder {path.parent} does not exist; kolbot creates the "
            "database file but not its folders: create the folder, or correct the path"
        )
        return
    if not path.exists():
        report.problem(
            f"database {path} does not exist: `kolbot db upgrade` creates and migrates it"
        )
        return
    mode = path.stat().st_mode
    if path.is_file() and mode & (stat.S_IRWXG | stat.S_IRWXO):
        # Made by an earlier version, or copied: it holds names, accounts and masked payouts.
        report.problem(
            f"database {path} can be read by other users (mode {stat.S_IMODE(mode):04o}): "
            f"chmod 600 {path}"
        )
    known = {version: f"{version:04d}_{name}" for version, name, _ in migrations()}
    try:
        check_ours(path)
        applied = probe(path)
    except NotKolbotDatabase as error:
        report.problem(str(error))
        return
    except sqlite3.Error as error:
        report.problem(f"database {path}: {error}")
        return
    pending = [known[v] for v in sorted(known.keys() - applied)]
    newer = sorted(applied - known.keys())
    if pending:
        report.problem(
            f"database {path}: {len(pending)} migration(s) not applied "
            f"({', '.join(pending)}): run `kolbot db upgrade`"
        )
    if newer:
        report.problem(
            f"database {path}: migrations {', '.join(map(str, newer))} are newer than "
            "this kolbot: it was upgraded by a later version"
        )
    report.add(
        "database", f"{path}: {len(applied & known.keys())} of {len(known)} migrations, writable"
    )


def check_key(settings: Settings, report: Report) -> None:
    """The key is there, readable, private, seals and unseals, and is the key the database
    was sealed with (by the check of it the database keeps)."""
    found = _find_key(key_source(settings), report)
    if found is None:
        return
    sealer, where, moved = found
    text = "kolbot check"
    if sealer.unseal(sealer.seal(text)) != text:
        report.problem(f"key {where} does not unseal what it seals")
        return
    matches = _against_database(settings.database, sealer, where, report)
    if matches is not None:
        report.add("key", f"{where}{moved}: readable, seals and unseals; {matches}")


def _find_key(source: KeySource, report: Report) -> tuple[Sealer, str, str] | None:
    """The key, where it is, and where it is moved at the next start; None, with a problem,
    when there is none to use. Nothing is moved or created."""
    if source.secret is not None:
        return Sealer(fernet_key(source.secret.get_secret_value())), "KOLBOT_SECRET_KEY", ""
    path, moved = source.file, ""
    if not path.exists() and source.old_file is not None and source.old_file.exists():
        path, moved = source.old_file, f" (moved to {source.file} at the next start)"
    try:
        sealer = read_key_file(path)
    except KeyUnusable as error:
        report.problem(str(error))
        return None
    if sealer is None:
        report.problem(
            f"key file {path} does not exist and KOLBOT_SECRET_KEY is not set: `kolbot db "
            "upgrade` creates a new key; if the database holds payout details already, "
            "restore the key they were sealed with instead"
        )
        return None
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        report.problem(
            f"key file {path} can be read by other users (mode {stat.S_IMODE(mode):04o}): "
            f"chmod 600 {path}"
        )
    return sealer, str(path), moved


def _against_database(database: Path, sealer: Sealer, where: str, report: Report) -> str | None:
    """How the key stands with the database; None, with a problem, when it is not its key."""
    if not database.exists():
        return "no database yet"
    try:
        recorded, sample = sealing(database)
    except sqlite3.Error:
        return "the database cannot be read"  # check_database said why
    if recorded == sealer.check:
        return "the database's key"
    if recorded is not None:
        report.problem(
            f"key {where} is not the key the database {database} was sealed with: restore "
            "that key (the key file kept with it, or its KOLBOT_SECRET_KEY); `kolbot run` "
            "refuses to start with this one"
        )
        return None
    if sample is None or sealer.opens(sample):
        return "recorded as the database's key at the next start"
    if EMPTY_PASSPHRASE.opens(sample):
        return (
            "the database's payout details were sealed with an empty KOLBOT_SECRET_KEY: they "
            "are sealed again with this key at the next start"
        )
    report.problem(
        f"key {where} does not open the payout details in the database {database}: restore "
        "the key they were sealed with; `kolbot run` refuses to start with this one"
    )
    return None


def check_plan(settings: Settings, build: PlatformBuilder, report: Report) -> None:
    """The platforms ``kolbot run`` would start, how they receive, and the web routes; built
    the way ``run`` builds them, but never started."""
    from handlers import build_router  # noqa: PLC0415 - the handlers load only when asked

    try:
        commands = list(build_router().commands.values())
        platforms = build(settings, commands)
    except ValueError as error:
        report.problem(str(error))
        return
    modes = []
    for platform in platforms:
        if platform.name == "telegram":
            mode = "webhook" if settings.telegram_webhook_url else "long polling"
        elif platform.name == "discord":
            mode = "gateway"
        else:
            mode = "stdin and stdout; no platform token is set"
        modes.append(f"{platform.name} ({mode})")
    report.add("would run", ", ".join(modes))
    if all(platform.name == "console" for platform in platforms):
        report.add("web", "off (the web server runs beside a platform only)")
        return
    if not settings.web_port:
        report.add("web", "off (KOLBOT_WEB_PORT=0)")
        if settings.telegram_webhook_url:
            report.problem(
                "KOLBOT_TELEGRAM_WEBHOOK_URL is set but KOLBOT_WEB_PORT is 0: the web server "
                "that receives the webhook would not run"
            )
        return
    web = WebServer(settings.web_listen, settings.web_port)
    for platform in platforms:
        mount: Callable[[WebServer], None] | None = getattr(platform, "mount", None)
        if mount is not None:
            mount(web)
    report.add("web", f"{settings.web_listen}:{settings.web_port}: {', '.join(web.routes)}")


def check(build: PlatformBuilder, load: Callable[[], Settings] = Settings) -> Report:
    """Everything ``kolbot check`` reports; the catalogs even when the settings are wrong."""
    report = Report()
    settings: Settings | None = None
    try:
        settings = load()
    except ValidationError as error:
        for line in setting_problems(error):
            report.problem(line)
    except UnicodeDecodeError as error:
        report.problem(not_utf8(error))
    for line in unknown_settings():
        report.problem(line)
    if settings is not None:
        report.add("settings", "valid")
        check_database(settings, report)
        check_key(settings, report)
    check_catalogs(report)
    if settings is not None:
        check_plan(settings, build, report)
    return report
