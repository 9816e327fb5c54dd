"""Running a command under Debian's faketime from a test that may itself run under faketime
(`faketime '02:30 tomorrow' make test`): the outer run's variables are left out, or the inner
faketime would share the outer clock instead of starting its own."""

from __future__ import annotations

import os

_OUTER = ("FAKETIME", "LD_PRELOAD", "DONT_FAKE_MONOTONIC")


def without_outer_faketime(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (the process's own by default) less what an outer faketime set."""
    source = dict(os.environ) if env is None else env
    return {key: value for key, value in source.items() if not key.startswith(_OUTER)}
