"""``kolbot``: run the bot and manage its database."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import Final, Literal

from pydantic import ValidationError

from bot import campaign_cli, operator_cli
from bot.app import App, serves_web
from bot.check import check
from bot.core.platform import CannotStart, Platform, ResumePoints
from bot.core.router import Command
from bot.services.sealing import key_source, rekey, unlock
from bot.setting_problems import not_utf8, setting_problems, unknown_settings
from bot.settings import Settings, default_database
from bot.web import CannotListen, try_listen
from handlers import build_router
from storage.clock import utcnow
from storage.sealing import KeyUnusable, Sealer, fernet_key, read_key_file
from storage.sqlite import Database, SqliteStore
from storage.sqlite.backup import BackupError, backup
from storage.sqlite.database import CannotOpen, NoSuchFolder, NotKolbotDatabase

log = logging.getLogger("kolbot")

# A configuration that cannot work: systemd's RestartPreventExitStatus=2 keeps a service
# from restarting into it again and again (argparse exits 2 on a bad command line too).
CONFIG_ERROR: Final = 2


class ConfigError(Exception):
    """Settings kolbot cannot start with; each argument is one line naming the problem."""


# Libraries whose DEBUG/INFO logs carry what must never be logged: request URLs with the bot
# token (httpx), SQL parameters with conversation data (aiosqlite), raw gateway events with
# what people typed and interaction tokens (discord.py).
QUIET_LOGGERS = (
    "httpx",
    "apscheduler",
    "aiosqlite",
    "discord.gateway",
    "discord.http",
    "discord.webhook",
    "discord.client",
    "telegram",
    "aiohttp.access",
)


# Syslog priorities of the logging levels: crit, err, warning, info; below INFO, debug (7).
_PRIORITIES: Final = (
    (logging.CRITICAL, 2),
    (logging.ERROR, 3),
    (logging.WARNING, 4),
    (logging.INFO, 6),
)


class JournalFormatter(logging.Formatter):
    """For the systemd journal: it adds the time itself, and reads each line's ``<N>`` prefix
    as its priority (sd-daemon(3)), so ``journalctl -p warning`` finds kolbot's warnings."""

    def format(self, record: logging.LogRecord) -> str:
        priority = next((p for level, p in _PRIORITIES if record.levelno >= level), 7)
        return "\n".join(f"<{priority}>{line}" for line in super().format(record).splitlines())


def _stderr_is_journal() -> bool:
    """systemd names the journal stream it connected as JOURNAL_STREAM (device:inode)."""
    stream = os.environ.get("JOURNAL_STREAM")
    if not stream:
        return False
    try:
        status = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return stream == f"{status.st_dev}:{status.st_ino}"


class SecretsHidden(logging.Formatter):
    """Hides the configured secrets wherever they appear in a formatted record: the message,
    an exception's text, a traceback."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self._inner = inner
        self._secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = self._inner.format(record)
        for secret in self._secrets:
            text = text.replace(secret, "<secret>")
        return text


def _secrets(settings: Settings) -> list[str]:
    values = (
        settings.telegram_token,
        settings.telegram_webhook_secret,
        settings.discord_token,
        settings.secret_key,
    )
    return [value.get_secret_value() for value in values if value is not None]


def _configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    inner = (
        JournalFormatter("%(levelname)s %(name)s: %(message)s")
        if _stderr_is_journal()
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.setFormatter(SecretsHidden(inner, _secrets(settings)))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler])
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _quiet_routine_logs(settings: Settings) -> None:
    """Where kolbot chats with a person on the terminal (the console), routine logs would
    break up the chat: warnings only, unless a log level was asked for."""
    if "log_level" not in settings.model_fields_set:
        logging.getLogger().setLevel(logging.WARNING)


def _operator_logs() -> None:
    """An operator command (every one but `run`) prints its result, which the routine logs
    of what it opens (a new database, each migration) would repeat or bury: warnings only.
    KOLBOT_LOG_LEVEL=INFO, as a service's .env sets it, is `run`'s; DEBUG, asked for to see
    inside, is kept."""
    root = logging.getLogger()
    if root.level > logging.DEBUG:
        root.setLevel(max(root.level, logging.WARNING))


@contextlib.contextmanager
def _silenced(name: str) -> Iterator[None]:
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def build_platforms(
    settings: Settings, commands: Sequence[Command], resume: ResumePoints | None = None
) -> list[Platform]:
    """Every platform with a token; the console when there is none. ``resume`` tells Discord
    where the DMs of open conversations left off, to backfill them."""
    platforms: list[Platform] = []
    if settings.telegram_token is not None:
        from bot.adapters.telegram_adapter import TelegramPlatform  # noqa: PLC0415

        platforms.append(TelegramPlatform(settings, commands))
    if settings.discord_token is not None:
        from bot.adapters.discord_adapter import DiscordPlatform  # noqa: PLC0415

        platforms.append(DiscordPlatform(settings, commands, resume=resume))
    if not platforms:
        from bot.adapters.console_adapter import ConsolePlatform  # noqa: PLC0415

        platforms.append(ConsolePlatform())
    return platforms


def _has_platform_token(settings: Settings) -> bool:
    return settings.telegram_token is not None or settings.discord_token is not None


class _ResumeOnceOpen:
    """The app's resume points, read once the app is open: the platforms are built before
    the database is opened, so that their settings are judged before it is created."""

    def __init__(self) -> None:
        self.points: ResumePoints | None = None

    async def open_chats(self, platform: str) -> Sequence[str]:
        return await self._points().open_chats(platform)

    async def last_update_id(self, source: str, sender: str) -> str | None:
        return await self._points().last_update_id(source, sender)

    def _points(self) -> ResumePoints:
        if self.points is None:
            raise RuntimeError("the database is not open yet")
        return self.points


async def _run(settings: Settings) -> None:
    """Judge whatever can be judged before anything is created: the platforms' own settings
    (a webhook's), the web server's address, and each platform's answer to its token and
    address; then open (or create) the database and its key, and serve."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    resume = _ResumeOnceOpen()
    try:
        platforms = build_platforms(settings, list(build_router().commands.values()), resume)
    except ValueError as error:  # a platform's settings that cannot work (a webhook's)
        raise ConfigError(str(error)) from error
    if serves_web(platforms) and settings.web_port:
        await try_listen(settings.web_listen, settings.web_port)
    for platform in platforms:
        probe: Callable[[], Awaitable[None]] | None = getattr(platform, "probe", None)
        if probe is not None:
            await probe()
    if stop.is_set():  # asked to stop while the platforms were asked
        return
    _make_default_folder(settings)
    app = await App.open(settings)
    _say_where(settings)
    resume.points = app.resume_points
    try:
        await app.run(platforms, stop)
    finally:
        await app.close()


async def _open_store(settings: Settings) -> SqliteStore:
    return await SqliteStore.open(
        settings.database,
        timedelta(days=settings.signup_ttl_days),
        durability=settings.database_durability,
    )


async def _outbox_status(settings: Settings) -> None:
    store = await _open_store(settings)
    try:
        async with store.reading() as uow:
            now = utcnow()
            counts = await uow.outbox.counts()
            oldest = await uow.outbox.oldest_pending(now)
            quiet = await uow.outbox.held_for_quiet_hours(now)
    finally:
        await store.close()
    if not counts:
        print("the outbox is empty")
        return
    print(f"{'platform':<10} {'status':<11} {'messages':>9}")
    for platform, status, rows in counts:
        print(f"{platform:<10} {status:<11} {rows:>9}")
    if oldest is not None:
        age = now - oldest
        print(
            f"oldest unsent: queued {oldest:%Y-%m-%d %H:%M:%S} UTC ({_age(age)} ago), "
            "not counting those held for quiet hours"
        )
    # Held for a time their people chose: they wait for the morning, not for kolbot.
    for held in quiet:
        pending = campaign_cli.quiet_held(held.rows, held.first, held.last)
        print(f"{held.platform}: of the pending, {pending}")
    unconfirmed = sum(rows for _, status, rows in counts if status == "unconfirmed")
    if unconfirmed:
        print(
            f"{unconfirmed} unconfirmed: sent, but no answer came, so each may have arrived; "
            "`kolbot outbox retry --unconfirmed` sends them again"
        )


async def _outbox_retry(settings: Settings, status: Literal["failed", "unconfirmed"]) -> None:
    store = await _open_store(settings)
    try:
        async with store.unit_of_work() as uow:
            again = await uow.outbox.retry(status, utcnow())
    finally:
        await store.close()
    print(f"{again} {status} message(s) queued again; a running bot sends them within a second")


async def _inbox_status(settings: Settings) -> None:
    store = await _open_store(settings)
    try:
        async with store.reading() as uow:
            counts = await uow.inbox.counts()
            dead = await uow.inbox.dead_letters(20)
    finally:
        await store.close()
    for status in ("pending", "handled", "dead"):
        print(f"{status:<8} {counts.get(status, 0):>9}")
    if dead:
        print("set aside (newest first; kept for inspection, not handled again):")
        for item in dead:
            print(
                f"  #{item.id} {item.source} update {item.update_id} after {item.attempts} "
                f"tries: {item.last_error or ''}"
            )


def _age(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}min"
    return f"{seconds // 3600}h"


async def _upgrade(settings: Settings, *, init: bool = False) -> None:
    _make_default_folder(settings)
    existed = settings.database.exists()
    # A new database is reported below, so the log's warning would say it twice.
    with contextlib.nullcontext() if existed else _silenced("storage.sqlite.database"):
        db = await Database.open(settings.database, migrate=False, init=init)
    try:
        applied = await db.upgrade()
    finally:
        await db.close()
    if not existed:
        print(f"created the database {settings.database}, readable by its owner only")
    elif init:
        print(
            f"started a new database in {settings.database}, which held nothing, readable by "
            "its owner only"
        )
    if applied:
        print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print(f"{settings.database}: up to date")
    # The key that seals payout details is made, or checked, with the database, as `run` does.
    source = key_source(settings)
    had_key = source.secret is not None or any(
        path is not None and path.exists() for path in (source.file, source.old_file)
    )
    store = await _open_store(settings)
    try:
        # A new key is reported below, so the log's warning would say it twice.
        quiet = contextlib.nullcontext() if had_key else _silenced("storage.sealing")
        async with store.unit_of_work() as uow:
            with quiet:
                await unlock(uow, source)
    finally:
        await store.close()
    if not had_key:
        print(
            f"created the key file {source.file}: keep a copy of it apart from the "
            "database's backups; without it, payout details cannot be read"
        )


def _old_key(key_file: Path | None) -> Sealer:
    """The key the payout details are sealed with now: from its file, or typed (not echoed)
    or piped on standard input."""
    if key_file is not None:
        sealer = read_key_file(key_file)
        if sealer is None:
            raise ConfigError(f"the old key file {key_file} does not exist")
        return sealer
    if sys.stdin.isatty():
        secret = getpass.getpass("the old passphrase or Fernet key: ")
    else:
        secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        raise ConfigError("no old key given: type it, or pipe it, on standard input")
    return Sealer(fernet_key(secret))


async def _rekey(settings: Settings, old: Sealer) -> None:
    source = key_source(settings)
    store = await _open_store(settings)
    try:
        async with store.unit_of_work() as uow:
            count = await rekey(uow, old, source)
    finally:
        await store.close()
    print(
        f"sealed {count} payout detail(s) again with {source.where}; the old key opens none "
        "of them now. Keep a copy of the new key apart from the database's backups (older "
        "backups still need the old key)"
    )


def _backup(settings: Settings, target: Path) -> int:
    try:
        made = backup(settings.database, target)
    except BackupError as error:
        print(f"kolbot: {error}", file=sys.stderr)
        return 1
    print(f"backed up {settings.database} to {made.path} ({made.size / 2**20:.1f} MiB)")
    if settings.secret_key is not None:
        where = "the KOLBOT_SECRET_KEY setting"
    else:
        where = f"the key file {settings.key_path.resolve()}"
    print(
        f"The key that encrypts payout details is not in the backup: it is {where}. "
        "Keep a copy of it apart from the backups (another place, other access): without it "
        "their payout details cannot be read, and with it beside them anyone holding a "
        "backup can."
    )
    return 0


def _check() -> int:
    report = check(build_platforms, _load_settings_quietly)
    width = max((len(topic) for topic, _ in report.found), default=0)
    for topic, text in report.found:
        print(f"{topic:<{width}}  {text}")
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    if report.problems:
        count = len(report.problems)
        print(f"kolbot check: {count} problem{'s' if count > 1 else ''}", file=sys.stderr)
        return 1
    print("no problems found; nothing was started")
    return 0


def _load_settings_quietly() -> Settings:
    """Settings, with the warnings they log (an old setting's name) kept from the report."""
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    return Settings()


def _version() -> str:
    try:
        return metadata.version("kolbot")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="kolbot",
        description="A chat bot for influencer programmes on Telegram and Discord. "
        "Settings come from KOLBOT_* environment variables and .env (see .env.example).",
    )
    root.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()}", help="print the version"
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="start the bot",
        description="Start the bot on every platform with a token set; with none, chat on "
        "the console (stdin/stdout). Migrates the database first. Exits 2 on settings it "
        "cannot start with.",
    )
    run.add_argument(
        "--require-platform",
        action="store_true",
        help="refuse to start (exit 2) when no platform token is set, instead of chatting on "
        "the console: for a service, which has no one at its standard input",
    )
    commands.add_parser(
        "check",
        help="check the installation and show what would run, starting nothing",
        description="Check the settings, the database (migrated, writable), the encryption "
        "key (present, readable, usable) and the translations, and show which platforms "
        "`kolbot run` would start, how they receive updates and which web routes it would "
        "serve. Starts nothing and changes nothing. Exits 1 with one line per problem.",
    )
    db = commands.add_parser("db", help="manage the database", description="Database commands.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    upgrade_command = db_commands.add_parser(
        "upgrade",
        help="apply pending migrations",
        description="Apply the numbered migrations not yet applied; safe to run repeatedly. "
        "Creates the database where there is no file, and its key file when "
        "KOLBOT_SECRET_KEY is not set. A file that is not a kolbot database (an empty one "
        "included) is refused (exit 2), unless --init asks for a new database in it.",
    )
    upgrade_command.add_argument(
        "--init",
        action="store_true",
        help="start a new database in the file KOLBOT_DATABASE names though it exists, when "
        "it holds nothing (an empty file); refused on a file that holds anything",
    )
    upgrade_command.add_argument(
        "--no-settings-warnings",
        action="store_true",
        help="do not warn about KOLBOT_ names that are no setting, or old names: for `make "
        "run`, whose `kolbot run` warns about them right after",
    )
    rekey_command = db_commands.add_parser(
        "rekey",
        help="seal the payout details again with the key now set",
        description="Seal every payout detail again with the key now set (KOLBOT_SECRET_KEY, "
        "or the key file, made when it is not there), opening them with the old key: to leave "
        "a passphrase that is too short, or a key that leaked. Stop the bot first. The old "
        "passphrase or Fernet key is read from standard input, unless --old-key-file names "
        "the old key file. All or nothing; exits 2 when the old key is not the database's.",
    )
    rekey_command.add_argument(
        "--old-key-file",
        type=Path,
        metavar="PATH",
        help="the key file the payout details are sealed with now",
    )
    backup_command = db_commands.add_parser(
        "backup",
        help="copy the live database, safely, while the bot runs",
        description="Write a consistent copy of the database through SQLite's backup API; "
        "the bot can keep running. The copy is private to its owner and never replaces a "
        "file. The encryption key is not in it: keep the key apart.",
    )
    backup_command.add_argument(
        "path",
        type=Path,
        metavar="PATH",
        help="the new file, or a directory to put a timestamped copy in",
    )
    outbox = commands.add_parser(
        "outbox",
        help="see and retry outgoing messages",
        description="The outbox: every "
        "message kolbot sends waits there until the platform took it.",
    )
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True, metavar="CMD")
    outbox_commands.add_parser(
        "status",
        help="messages per platform and status, and the oldest unsent",
        description="Counts of messages per platform and status (pending, sending, sent, "
        "blocked, failed, unconfirmed), how long the oldest unsent one has waited, and how "
        "many of the pending wait for their people's quiet hours, until when (in UTC and "
        "this terminal's zone).",
    )
    retry = outbox_commands.add_parser(
        "retry",
        help="queue failed or unconfirmed messages again",
        description="Queue again the messages that failed (after a long outage, say), or "
        "those left unconfirmed: sent, but their answers never came, so each may have "
        "arrived already and may arrive twice.",
    )
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("--failed", action="store_true", help="the failed ones")
    which.add_argument("--unconfirmed", action="store_true", help="the unconfirmed ones")
    inbox = commands.add_parser(
        "inbox",
        help="see received updates",
        description="The inbox: every update is stored "
        "there before it is acknowledged to the platform.",
    )
    inbox_commands = inbox.add_subparsers(dest="inbox_command", required=True, metavar="CMD")
    inbox_commands.add_parser(
        "status",
        help="updates per status, and the ones set aside",
        description="Counts of updates pending, handled and set aside (dead letters: the "
        "database could not take them after every try), with the latest set aside.",
    )
    operator_cli.add_commands(commands)
    campaign_cli.add_commands(commands)
    return root


def _settings(*, warn: bool = True) -> Settings:
    """The settings; ``warn``: say which KOLBOT_ names are no setting, and which are old
    names (not when the next command says it: `make run`'s `kolbot run`)."""
    try:
        with contextlib.nullcontext() if warn else _silenced("bot.settings"):
            settings = Settings()
    except ValidationError as error:
        raise ConfigError(*setting_problems(error)) from None
    except UnicodeDecodeError as error:
        raise ConfigError(not_utf8(error)) from None
    for line in unknown_settings() if warn else ():
        print(f"kolbot: {line}", file=sys.stderr)
    return settings


def _make_default_folder(settings: Settings) -> None:
    """The default database's folder is made when the database is (for its owner only):
    no typo can have asked for that one."""
    if "database" in settings.model_fields_set or settings.database != default_database():
        return
    settings.database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)


def _say_where(settings: Settings) -> None:
    """Where the bot keeps its data, said at the start when no setting chose it."""
    if "database" not in settings.model_fields_set:
        print(f"kolbot: database {settings.database.absolute()}", file=sys.stderr)


def _require_database(settings: Settings) -> None:
    """An operator command works on the bot's database, never on a new empty one it would
    make in whatever folder it runs in: one that is not there is named and refused."""
    if not settings.database.exists():
        chosen = "KOLBOT_DATABASE" if "database" in settings.model_fields_set else "the default"
        raise ConfigError(
            f"no database at {settings.database.absolute()} ({chosen}): `make run` or "
            "`kolbot db upgrade` creates it; KOLBOT_DATABASE names another"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when done, 2 for what only an operator can fix (settings, the key, a database
    path), 1 for any other failure; a failed start never lingers: what it opened is closed."""
    args = parser().parse_args(argv)
    if args.command == "check":
        return _check()
    try:
        return _main(args)
    except ConfigError as error:
        for line in error.args:
            print(f"kolbot: {line}", file=sys.stderr)
        return CONFIG_ERROR
    except CannotOpen as error:
        print(f"kolbot: {error}", file=sys.stderr)
        return CONFIG_ERROR if isinstance(error, NoSuchFolder | NotKolbotDatabase) else 1
    except CannotListen as error:
        print(f"kolbot: {error}", file=sys.stderr)
        return CONFIG_ERROR
    except CannotStart as error:
        print(f"kolbot: {error}", file=sys.stderr)
        return CONFIG_ERROR if error.lasting else 1
    except KeyUnusable as error:
        print(f"kolbot: {error}", file=sys.stderr)
        return CONFIG_ERROR
    except Exception:
        log.critical("kolbot stopped", exc_info=True)
        return 1


def _main(args: argparse.Namespace) -> int:
    settings = _settings(warn=not getattr(args, "no_settings_warnings", False))
    _configure_logging(settings)
    if args.command != "run":
        _operator_logs()
    if not (args.command == "run" or (args.command == "db" and args.db_command == "upgrade")):
        _require_database(settings)
    if args.command == "run":
        if not _has_platform_token(settings):
            if args.require_platform:
                raise ConfigError(
                    "no platform token is set (KOLBOT_TELEGRAM_TOKEN, KOLBOT_DISCORD_TOKEN) "
                    "and --require-platform forbids the console"
                )
            _quiet_routine_logs(settings)
        asyncio.run(_run(settings))
    elif args.command == "db" and args.db_command == "upgrade":
        asyncio.run(_upgrade(settings, init=args.init))
    elif args.command == "db" and args.db_command == "rekey":
        asyncio.run(_rekey(settings, _old_key(args.old_key_file)))
    elif args.command == "db" and args.db_command == "backup":
        return _backup(settings, args.path)
    elif args.command == "outbox" and args.outbox_command == "status":
        asyncio.run(_outbox_status(settings))
    elif args.command == "outbox" and args.outbox_command == "retry":
        asyncio.run(_outbox_retry(settings, "failed" if args.failed else "unconfirmed"))
    elif args.command == "inbox" and args.inbox_command == "status":
        asyncio.run(_inbox_status(settings))
    elif args.command in operator_cli.COMMANDS:
        return operator_cli.run(args, settings)
    elif args.command == "campaign":
        return campaign_cli.run(args, settings)
    return 0
