"""Figures beside their goals: one table for the terminal or docs/benchmarks.md, and the JSON
record.

A goal that is not reached is printed as NOT MET, and a workload that could not run says why:
the table is only worth reading if it never hides either.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Op = Literal[">=", "<", "=="]
Status = Literal["ok", "not run", "failed"]


@dataclass(frozen=True)
class Goal:
    op: Op
    target: float
    label: str = ""  # how to print the target, when the number alone would not say it

    def met(self, value: float) -> bool:
        if self.op == ">=":
            return value >= self.target
        if self.op == "<":
            return value < self.target
        return math.isclose(value, self.target, rel_tol=1e-9)

    def __str__(self) -> str:
        op = "=" if self.op == "==" else self.op
        digits = 0 if self.target == int(self.target) else 2
        return f"{op} {self.label or number(self.target, digits)}"


@dataclass(frozen=True)
class Row:
    figure: str
    value: float | None
    goal: Goal | None = None
    digits: int = 1

    @property
    def ratio(self) -> float | None:
        if self.goal is None or self.value is None or not self.goal.target:
            return None
        return self.value / self.goal.target

    @property
    def verdict(self) -> str:
        if self.goal is None:
            return ""
        if self.value is None:
            return "not measured"  # e.g. a ratio to a bot that was not run alongside
        return "met" if self.goal.met(self.value) else "NOT MET"


@dataclass
class Outcome:
    """One workload run: its rows when it ran, else why not."""

    workload: str
    status: Status = "ok"
    reason: str = ""
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows"] = [
            {**asdict(row), "goal": str(row.goal) if row.goal else None}
            | {"ratio": row.ratio, "verdict": row.verdict}
            for row in self.rows
        ]
        return data


def number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    if digits == 0 or (value == int(value) and abs(value) >= 1000):
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


HEADER = ("workload", "figure", "value", "goal", "ratio", "verdict")


def table_rows(outcomes: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """The table's lines from outcomes as JSON (as written, or read back from latest.json)."""
    lines: list[tuple[str, ...]] = []
    for outcome in outcomes:
        name = outcome["workload"]
        if outcome["status"] != "ok":
            reason = str(outcome["reason"]).splitlines()[0] if outcome["reason"] else ""
            lines.append((name, f"{outcome['status']}: {reason}", "", "", "", ""))
            continue
        for row in outcome["rows"]:
            ratio = row["ratio"]
            lines.append(
                (
                    name,
                    row["figure"],
                    number(row["value"], row["digits"]),
                    row["goal"] or "",
                    "" if ratio is None else f"{ratio:.2f}",
                    row["verdict"],
                )
            )
    return lines


def text_table(outcomes: list[dict[str, Any]]) -> str:
    lines = [HEADER, *table_rows(outcomes)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(HEADER))]
    right = {2, 4}  # numbers line up on the right
    out = []
    for line in lines:
        cells = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def markdown_table(outcomes: list[dict[str, Any]]) -> str:
    lines = [
        "| " + " | ".join(HEADER) + " |",
        "|---|---|--:|---|--:|---|",
    ]
    for line in table_rows(outcomes):
        cells = [cell.replace("|", "\\|") for cell in line]
        if cells[5] == "NOT MET":
            cells[5] = "**NOT MET**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
