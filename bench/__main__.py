"""``python -m bench``: run the workloads, print one table, write bench/results/latest.json.

Exits 1 when a workload is broken (the bot died, stalled, or made a call Telegram would refuse),
0 otherwise: a goal not met is a finding, printed as NOT MET, not a crash.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, cast

from bench import dispatch, ingress, memory, publish
from bench.config import CAPS, MODES, Config, Mode
from bench.report import Outcome, markdown_table, text_table

RESULTS: Final = Path(__file__).with_name("results") / "latest.json"
WORKLOADS: Final[dict[str, Callable[[Config], Awaitable[list[Outcome]]]]] = {
    "ingress": ingress.run,
    "dispatch": dispatch.run,
    "memory": memory.run,
    "publish": publish.run,
}


def parser() -> argparse.ArgumentParser:
    defaults = Config()
    root = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure kolbot against its goals: ingress (users' /start through the real "
        "bot, polling and webhook, beside a python-telegram-bot tutorial bot), dispatch (the "
        "outbox sender, unlimited and at 30 and 1,000 msg/s caps), memory at rest (a million "
        "people). Figures are printed beside their goals and saved as JSON.",
    )
    root.add_argument(
        "workloads",
        nargs="*",
        metavar="WORKLOAD",
        help=f"which to run: {', '.join(WORKLOADS)} (default: all)",
    )
    root.add_argument(
        "--quick", action="store_true", help="small sizes: seconds, not minutes (a rough look)"
    )
    sizes = root.add_argument_group("sizes (override --quick)")
    sizes.add_argument("--users", type=int, help=f"ingress users (default {defaults.users:,})")
    sizes.add_argument(
        "--tutorial-users",
        type=int,
        help=f"ingress users for the tutorial bot (default {defaults.tutorial_users:,})",
    )
    sizes.add_argument(
        "--modes",
        type=_modes,
        help=f"ingress modes, comma-separated (default {','.join(MODES)})",
    )
    sizes.add_argument(
        "--messages",
        type=int,
        help=f"dispatch messages with no limit (default {defaults.messages:,})",
    )
    sizes.add_argument(
        "--cap-seconds",
        type=float,
        help="dispatch: a capped run sends this many seconds' worth at its cap "
        f"(default {defaults.cap_seconds:g})",
    )
    sizes.add_argument(
        "--people", type=int, help=f"memory: people in the database (default {defaults.people:,})"
    )
    sizes.add_argument(
        "--audience",
        type=int,
        help=f"publish: influencers matched and queued (default {defaults.audience:,})",
    )
    sizes.add_argument(
        "--idle-seconds",
        type=float,
        help=f"memory: idle time before RSS is read (default {defaults.idle_seconds:g})",
    )
    other = root.add_argument_group("other")
    other.add_argument(
        "--delay",
        type=float,
        help=f"the fake Bot API's answer time in seconds (default {defaults.delay:g})",
    )
    other.add_argument("--seed", type=int, help=f"data seed (default {defaults.seed})")
    other.add_argument(
        "--source",
        type=Path,
        help="run kolbot from this directory (a checkout of another commit) instead of the "
        "installed one",
    )
    other.add_argument(
        "--output",
        type=Path,
        default=RESULTS,
        help="where to write the results (default bench/results/latest.json)",
    )
    other.add_argument("--no-save", action="store_true", help="write no results file")
    other.add_argument(
        "--show",
        action="store_true",
        help="print the table of the saved results (--output) without running anything",
    )
    other.add_argument(
        "--markdown",
        action="store_true",
        help="print the table as Markdown (for docs/benchmarks.md)",
    )
    return root


def _modes(value: str) -> tuple[Mode, ...]:
    modes = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown or not modes:
        raise argparse.ArgumentTypeError(f"modes are {', '.join(MODES)}")
    return cast(tuple[Mode, ...], modes)


def config_from(args: argparse.Namespace) -> Config:
    config = Config().quick() if args.quick else Config()
    overrides = {
        name: getattr(args, name)
        for name in (
            "users",
            "tutorial_users",
            "modes",
            "messages",
            "cap_seconds",
            "people",
            "audience",
            "idle_seconds",
            "delay",
            "seed",
            "source",
        )
        if getattr(args, name) is not None
    }
    return replace(config, caps=CAPS, **overrides)


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "system": platform.platform(),
        "python": platform.python_version(),
    }


def commit(root: Path) -> str:
    """The checkout measured, marked dirty when it has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head


async def run(config: Config, workloads: Sequence[str]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for workload in workloads:
        print(f"running {workload}...", file=sys.stderr, flush=True)
        outcomes += await WORKLOADS[workload](config)
    return outcomes


def render(record: dict[str, Any], markdown: bool) -> str:
    outcomes = record["outcomes"]
    table = markdown_table(outcomes) if markdown else text_table(outcomes)
    where = record["machine"]
    lines = [
        f"kolbot bench, {record['date']}, commit {record['commit']}, "
        f"{where['cpus']} CPUs ({where['cpu'] or 'unknown'}), Python {where['python']}"
        + (", load {:.1f} → {:.1f}".format(*where["load"]) if "load" in where else ""),
        "",
        table,
    ]
    # Notes, and the whole reason of a failure (a log tail); "not run" said all in the table.
    remarks = [
        f"- {outcome['workload']}: {note}"
        for outcome in outcomes
        for note in [
            *outcome["notes"],
            *([outcome["reason"]] if outcome["status"] == "failed" else []),
        ]
    ]
    if remarks:
        lines += ["", *remarks]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parser()
    args = arguments.parse_args(argv)
    unknown = sorted(set(args.workloads) - WORKLOADS.keys())
    if unknown:
        arguments.error(
            f"unknown workload {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}"
        )
    if args.show:
        record = json.loads(args.output.read_text(encoding="utf-8"))
        print(render(record, args.markdown))
        return 0
    config = config_from(args)
    workloads = [name for name in WORKLOADS if not args.workloads or name in args.workloads]
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    outcomes = asyncio.run(run(config, workloads))
    settings = asdict(config) | {"source": str(config.source) if config.source else None}
    record = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(config.source or Path(__file__).resolve().parents[1]),
        # Other processes' load skews CPU-bound figures: the 1-minute load average around it.
        "machine": machine() | {"load": [load_before, os.getloadavg()[0]]},
        "config": settings | {"workloads": workloads},
        "seconds": round(time.monotonic() - started, 1),
        "outcomes": [outcome.as_json() for outcome in outcomes],
    }
    print(render(record, args.markdown))
    if not args.no_save:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        print(f"\nsaved {args.output}", file=sys.stderr)
    return 1 if any(outcome.status == "failed" for outcome in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
