"""Settings: every field is documented in .env.example, and secrets stay secret."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from bot.setting_problems import setting_problems
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:AAH-a-token-of-the-right-shape_0123"


def test_env_example_lists_every_setting() -> None:
    documented = set(re.findall(r"^KOLBOT_([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_tokens_never_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOLBOT_TELEGRAM_TOKEN", "123:very-secret-telegram-token_0123456789")
    monkeypatch.setenv("KOLBOT_DISCORD_TOKEN", "discord-very-secret")
    settings = Settings(_env_file=None)
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(settings.model_dump())


def test_guild_ids_from_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOLBOT_DISCORD_GUILD_IDS", "123, 456")
    assert Settings(_env_file=None).discord_guild_ids == [123, 456]


def test_a_verbatim_copy_of_env_example_sets_no_secret(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    shutil.copy(ROOT / ".env.example", env)
    settings = Settings(_env_file=env)
    assert (settings.secret_key, settings.telegram_token, settings.discord_token) == (
        None,
        None,
        None,
    )
    assert settings.telegram_webhook_port is None
    env.write_text(
        env.read_text().replace("KOLBOT_TELEGRAM_TOKEN=\n", f"KOLBOT_TELEGRAM_TOKEN={TOKEN}\n")
    )
    only_telegram = Settings(_env_file=env)
    assert only_telegram.telegram_token is not None
    assert only_telegram.discord_token is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(" ", None), ("\t\n", None), (f" {TOKEN}\n", TOKEN), (TOKEN, TOKEN)],
)
def test_a_token_is_taken_without_the_spaces_around_it(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str | None
) -> None:
    """Tokens hold no spaces: blank means not set (the console runs, not a platform with a
    token of spaces), and a pasted one's line break or space is not part of it."""
    for name in ("TELEGRAM_TOKEN", "DISCORD_TOKEN", "TELEGRAM_WEBHOOK_SECRET"):
        monkeypatch.setenv(f"KOLBOT_{name}", value)
    settings = Settings(_env_file=None)
    for token in (
        settings.telegram_token,
        settings.discord_token,
        settings.telegram_webhook_secret,
    ):
        assert (token.get_secret_value() if token is not None else None) == expected


@pytest.mark.parametrize("secret", ["x", "fifteen chars!!", " " * 16, "  fifteen chars!!  "])
def test_a_short_passphrase_is_refused(secret: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, secret_key=secret)
    assert setting_problems(refused.value) == [
        f"KOLBOT_SECRET_KEY: too short ({len(secret.strip())} characters); to leave a short "
        "one, set "
        "a long one here and run `kolbot db rekey`, giving it the short one; allowed: a "
        "passphrase of at least 16 characters, or a Fernet key"
    ]
    assert secret not in str(setting_problems(refused.value))


def test_a_long_passphrase_or_a_fernet_key_is_taken() -> None:
    assert Settings(_env_file=None, secret_key="sixteen chars!!!").secret_key is not None
    fernet = Fernet.generate_key().decode()
    assert Settings(_env_file=None, secret_key=fernet).secret_key is not None


def test_every_numeric_setting_has_a_range() -> None:
    for name, field in Settings.model_fields.items():
        kind = field.annotation
        if kind not in (int, float, int | None, float | None):
            continue
        bounds = {type(bound).__name__ for bound in field.metadata}
        assert bounds & {"Ge", "Gt"}, name
        assert bounds & {"Le", "Lt"}, name
        if kind in (float, float | None):
            assert any(getattr(m, "allow_inf_nan", None) is False for m in field.metadata), name


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("signup_ttl_days", "99999999"),
        ("signup_ttl_days", "9999999999"),
        ("telegram_chat_rate", "inf"),
        ("telegram_chat_rate", "nan"),
        ("telegram_chat_rate", "1e-300"),
        ("discord_dm_period", "1e-300"),
        ("discord_global_rate", "1000"),
        ("telegram_chat_burst", "1000000"),
        ("min_followers", "100000000000"),
        ("telegram_base_url", "127.0.0.1:8081/bot"),
    ],
)
def test_values_that_would_break_later_are_refused(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"KOLBOT_{name.upper()}", value)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    (line,) = setting_problems(refused.value)
    assert line.startswith(f"KOLBOT_{name.upper()}: ")


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        (
            "KOLBOT_MIN_FOLLOWERS",
            "abc",
            "'abc' is not a whole number; allowed: a whole number from 0 to 1000000000",
        ),
        (
            "KOLBOT_MIN_FOLLOWERS",
            "-5",
            "'-5' is out of range; allowed: a whole number from 0 to 1000000000",
        ),
        (
            "KOLBOT_SIGNUP_TTL_DAYS",
            "-1",
            "'-1' is out of range; allowed: a whole number from 1 to 365",
        ),
        (
            "KOLBOT_TELEGRAM_WEBHOOK_PORT",
            "abc",
            "'abc' is not a whole number; allowed: a whole number from 1 to 65535",
        ),
        (
            "KOLBOT_TELEGRAM_RATE",
            "100001",
            "'100001' is out of range; allowed: a whole number from 2 to 100000",
        ),
        (
            "KOLBOT_TELEGRAM_CHAT_RATE",
            "inf",
            "'inf' is not a finite number; allowed: a number from 0.1 to 1000",
        ),
        (
            "KOLBOT_LOG_LEVEL",
            "verbose",
            "unknown level 'verbose'; allowed: DEBUG, INFO, WARNING, ERROR or CRITICAL",
        ),
        (
            "KOLBOT_DATABASE_DURABILITY",
            "fast",
            "'fast' is not one of the choices; allowed: normal or full",
        ),
        (
            "KOLBOT_DISCORD_GUILD_IDS",
            "123,abc",
            "'abc' is not a server id; allowed: server ids (whole numbers) separated by commas",
        ),
    ],
)
def test_an_invalid_setting_is_one_line_naming_the_variable(
    variable: str, value: str, line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    assert setting_problems(refused.value) == [f"{variable}: {line}"]


def test_the_key_file_is_named_apart_from_the_database(tmp_path: Path) -> None:
    renamed = Settings(_env_file=None, database=tmp_path / "live.db")
    assert renamed.key_path == tmp_path / "kolbot.key"
    assert renamed.old_key_path == tmp_path / "live.key"
    default = Settings(_env_file=None, database=tmp_path / "kolbot.db")
    assert (default.key_path, default.old_key_path) == (tmp_path / "kolbot.key", None)
    chosen = Settings(_env_file=None, database=tmp_path / "a.db", key_file=tmp_path / "a.key")
    assert (chosen.key_path, chosen.old_key_path) == (tmp_path / "a.key", None)


def test_a_key_file_that_is_the_database_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its key would not be found there, and the advice to delete a key file that holds no key
    would delete the database."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KOLBOT_DATABASE", str(tmp_path / "kolbot.db"))
    monkeypatch.setenv("KOLBOT_KEY_FILE", "kolbot.db")
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    assert setting_problems(refused.value) == [
        "KOLBOT_KEY_FILE: it is the database file itself; the key needs a file of its own"
    ]


def test_a_key_file_in_a_loop_of_links_is_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("loop")
    settings = Settings(
        _env_file=None, database=tmp_path / "kolbot.db", key_file=tmp_path / "loop" / "k.key"
    )
    assert settings.key_path == tmp_path / "loop" / "k.key"
