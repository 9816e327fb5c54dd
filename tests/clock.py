"""The instant every test runs at, and kolbot as a subprocess at the same instant.

Tests never read the real clock: by default they run from DEFAULT_INSTANT on, a weekday
afternoon in Europe, so nothing a test does by default falls into the default quiet hours
(22:00-08:00) or the default digest hour (09:00) of the people the tests sign up (Germany,
Poland, the UK, the US east coast...). A test about time names its own instant with
``@pytest.mark.instant(...)`` or moves the ``clock`` fixture, and says why.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from storage.clock import utcnow

# Wednesday 9 December 2026, 15:00 UTC: 16:00 in Berlin and Warsaw, 10:00 in New York.
DEFAULT_INSTANT: Final = datetime(2026, 12, 9, 15, 0, tzinfo=UTC)
LAUNCHER: Final = Path(__file__).with_name("clocked.py")


def kolbot_command(*args: str) -> list[str]:
    """The command line of ``kolbot ARGS`` run at this test's instant (its clock ticking on
    from there), whatever the machine's clock says."""
    return [sys.executable, str(LAUNCHER), utcnow().isoformat(), *args]
