"""``python tests/clocked.py INSTANT ARGS...``: ``kolbot ARGS`` with its clock started at INSTANT.

The clock is set before kolbot's entry point is imported, and ticks on from there; monotonic
time is left alone, so timeouts and pacing behave as on any machine.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

# Python put this folder first on the path; its packages (tests/packaging) would shadow
# installed ones of the same name.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import time_machine


def main() -> None:
    instant, *args = sys.argv[1:]
    time_machine.travel(instant, tick=True).start()
    sys.argv = ["kolbot", *args]
    runpy.run_module("bot", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
