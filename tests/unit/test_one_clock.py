"""Product code reads the wall clock in one place, storage/clock.py, so a test can set it.

Monotonic time (timeouts, pacing, leases in memory) is not the wall clock and stays free.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["bot", "handlers", "storage", "jobs"]
THE_CLOCK = ROOT / "storage" / "clock.py"
# (module or class, function): each reads the wall clock when called.
WALL_CLOCK = {
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
    ("time", "ctime"),
    ("time", "asctime"),
    ("time", "strftime"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("datetime", "fromtimestamp"),
    ("datetime", "utcfromtimestamp"),
    ("date", "today"),
    ("date", "fromtimestamp"),
}
# Functions that read the clock only when called without a time of their own.
CLOCK_WHEN_BARE = {"localtime", "gmtime", "ctime", "asctime", "fromtimestamp", "strftime"}


def _owner(node: ast.expr) -> str | None:
    """``datetime`` for ``datetime.now`` and ``dt.datetime.now`` alike."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _imported_functions(tree: ast.Module) -> dict[str, tuple[str, str]]:
    """``from time import time as now`` makes ``now()`` a wall-clock read."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            for alias in node.names:
                key = (node.module, alias.name)
                if key in WALL_CLOCK:
                    names[alias.asname or alias.name] = key
    return names


def wall_clock_reads(source: str) -> list[int]:
    """The lines of ``source`` that read the wall clock."""
    tree = ast.parse(source)
    imported = _imported_functions(tree)
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            key = (_owner(func.value) or "", func.attr)
        elif isinstance(func, ast.Name) and func.id in imported:
            key = imported[func.id]
        else:
            continue
        if key not in WALL_CLOCK:
            continue
        # ``time.localtime(ts)`` and ``datetime.fromtimestamp(ts)`` convert a given instant;
        # without one (``strftime`` takes it second) they read now.
        given = len(node.args) + len(node.keywords) > (1 if key[1] == "strftime" else 0)
        if key[1] in CLOCK_WHEN_BARE and given:
            continue
        lines.append(node.lineno)
    return lines


def product_files() -> list[Path]:
    return sorted(path for package in PRODUCT for path in (ROOT / package).rglob("*.py"))


def test_product_code_reads_the_wall_clock_only_through_the_one_clock() -> None:
    files = product_files()
    assert THE_CLOCK in files
    offenders = {
        f"{path.relative_to(ROOT)}:{line}"
        for path in files
        if path != THE_CLOCK
        for line in wall_clock_reads(path.read_text(encoding="utf-8"))
    }
    assert offenders == set(), "read the time through storage.clock.utcnow()"


def test_the_one_clock_reads_it() -> None:
    assert wall_clock_reads(THE_CLOCK.read_text(encoding="utf-8")) != []


@pytest.mark.parametrize(
    "source",
    [
        "import time\nx = time.time()\n",
        "import time\nx = time.time_ns()\n",
        "from time import time\nx = time()\n",
        "from time import time as clock\nx = clock()\n",
        "from datetime import datetime, UTC\nx = datetime.now(UTC)\n",
        "import datetime as dt\nx = dt.datetime.now()\n",
        "from datetime import date\nx = date.today()\n",
        "import datetime\nx = datetime.datetime.utcnow()\n",
        "import time\nx = time.localtime()\n",
        "import time\nx = time.strftime('%H')\n",
    ],
)
def test_the_check_catches_a_wall_clock_read(source: str) -> None:
    assert wall_clock_reads(source) == [2]


@pytest.mark.parametrize(
    "source",
    [
        "import time\nx = time.monotonic()\n",
        "import time\nx = time.perf_counter()\n",
        "import time\nx = time.localtime(0)\n",
        "import time\nx = time.strftime('%H', time.gmtime(0))\n",
        "from datetime import datetime, UTC\nx = datetime.fromtimestamp(0, UTC)\n",
        "import asyncio\nx = asyncio.get_running_loop().time()\n",
    ],
)
def test_the_check_lets_monotonic_time_and_given_instants_pass(source: str) -> None:
    assert wall_clock_reads(source) == []
