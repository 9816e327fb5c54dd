"""Invalid settings as an operator reads them: one line each, naming the variable as it is set,
what is wrong with its value and what is allowed instead."""

from __future__ import annotations

import difflib
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import annotated_types
from dotenv.parser import parse_stream
from pydantic import SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from bot.settings import LOG_LEVELS, MIN_PASSPHRASE, Settings

# What is allowed, where the field's type and bounds do not say it well.
_ALLOWED: Final = {
    "database": "the path of the database file, such as kolbot.db",
    "secret_key": f"a passphrase of at least {MIN_PASSPHRASE} characters, or a Fernet key",
    "log_level": f"{', '.join(LOG_LEVELS[:-1])} or {LOG_LEVELS[-1]}",
    "telegram_base_url": "an http:// or https:// address with a valid host and port, such as "
    "https://api.telegram.org/bot",
    "telegram_token": "the token BotFather gave the bot: its id, a colon and about 35 letters, "
    "digits, - and _, such as 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    "web_listen": "an IP address of this machine or a host name, such as 127.0.0.1 or 0.0.0.0",
    "discord_guild_ids": "server ids (whole numbers) separated by commas",
    "operators": "platform:user_id accounts separated by commas, such as telegram:123,discord:45",
}
_NOT_A_WHOLE_NUMBER: Final = frozenset({"int_parsing", "int_type", "int_from_float"})
_NOT_A_NUMBER: Final = frozenset({"float_parsing", "float_type"})
_OUT_OF_RANGE: Final = frozenset(
    {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
)
_SHOWN_VALUE: Final = 40


def setting_problems(error: ValidationError) -> list[str]:
    """One line per invalid setting. A secret's value is never shown."""
    lines = []
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        field = Settings.model_fields.get(name)
        if field is None and item["type"] == "value_error":
            # Settings judged together: the message names each of them.
            lines.append(_what_is_wrong(item, secret=True))
            continue
        if field is None:
            lines.append(f"settings: {item['msg']}")
            continue
        line = f"KOLBOT_{name.upper()}: {_what_is_wrong(item, _is_secret(field))}"
        allowed = allowed_values(name)
        lines.append(f"{line}; allowed: {allowed}" if allowed else line)
    return lines


ENV_FILE: Final = Path(str(Settings.model_config.get("env_file")))


def unknown_settings(
    environ: Mapping[str, str] | None = None, env_file: Path = ENV_FILE
) -> list[str]:
    """One line per KOLBOT_ name, in the environment or ``.env``, that is no setting: a
    misspelt one is otherwise ignored without a word (KOLBOT_TELEGRAM_TOKN leaves the bot on
    the console). Values are never shown."""
    known = {f"KOLBOT_{name.upper()}" for name in Settings.model_fields}
    names = {name.upper() for name in (os.environ if environ is None else environ)}
    if env_file.is_file():
        try:
            with env_file.open(encoding="utf-8") as stream:
                bindings = list(parse_stream(stream))
        except (OSError, UnicodeDecodeError):
            bindings = []  # reported when the settings are read
        # A line that is not NAME=value python-dotenv reports itself.
        names |= {b.key.upper() for b in bindings if not b.error and b.key is not None}
    lines = []
    for name in sorted(n for n in names if n.startswith("KOLBOT_") and n not in known):
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        hint = f"did you mean {close[0]}?" if close else "the settings are listed in .env.example"
        lines.append(f"{name} is not a setting and is ignored; {hint}")
    return lines


def not_utf8(error: UnicodeDecodeError, env_file: Path = ENV_FILE) -> str:
    """``.env`` in another encoding: where, rather than a traceback."""
    return f"{env_file} is not UTF-8 text ({error.reason} at byte {error.start}): save it as UTF-8"


def allowed_values(name: str) -> str | None:
    """What a setting accepts, in words."""
    if name in _ALLOWED:
        return _ALLOWED[name]
    field = Settings.model_fields[name]
    kind = _base_type(field.annotation)
    if typing.get_origin(kind) is typing.Literal:
        choices = [str(choice) for choice in typing.get_args(kind)]
        return f"{', '.join(choices[:-1])} or {choices[-1]}"
    if kind is int:
        return _range("a whole number", field)
    if kind is float:
        return _range("a number", field)
    return None


def _what_is_wrong(item: ErrorDetails, secret: bool) -> str:
    kind = item["type"]
    shown = "the value" if secret else _shown(item["input"])
    if kind in _NOT_A_WHOLE_NUMBER:
        return f"{shown} is not a whole number"
    if kind in _NOT_A_NUMBER:
        return f"{shown} is not a number"
    if kind == "finite_number":
        return f"{shown} is not a finite number"
    if kind in _OUT_OF_RANGE:
        return f"{shown} is out of range"
    if kind == "literal_error":
        return f"{shown} is not one of the choices"
    if kind == "value_error":
        return str((item.get("ctx") or {}).get("error", item["msg"]))
    return str(item["msg"])


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= _SHOWN_VALUE else f"{text[: _SHOWN_VALUE - 1]}…"


def _base_type(annotation: Any) -> Any:
    """``int | None`` → ``int``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        others = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(others) == 1:
            return others[0]
    return annotation


def _is_secret(field: FieldInfo) -> bool:
    return _base_type(field.annotation) is SecretStr


def _range(noun: str, field: FieldInfo) -> str:
    bounds: dict[str, object] = {}
    for bound in field.metadata:
        if isinstance(bound, annotated_types.Ge):
            bounds["at least"] = bound.ge
        elif isinstance(bound, annotated_types.Gt):
            bounds["above"] = bound.gt
        elif isinstance(bound, annotated_types.Le):
            bounds["at most"] = bound.le
        elif isinstance(bound, annotated_types.Lt):
            bounds["below"] = bound.lt
    if bounds.keys() == {"at least", "at most"}:
        return f"{noun} from {_number(bounds['at least'])} to {_number(bounds['at most'])}"
    limits = " and ".join(f"{words} {_number(value)}" for words, value in bounds.items())
    return f"{noun} {limits}".strip()


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)
