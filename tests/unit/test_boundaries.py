"""Handlers, storage and jobs stay platform-free: only bot/adapters may import a platform."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_PACKAGES = {"telegram", "discord"}
PLATFORM_FREE = ["handlers", "storage", "jobs", "bot/core", "bot/i18n"]


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", PLATFORM_FREE)
def test_package_imports_no_platform_library(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}"
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & PLATFORM_PACKAGES)
        for path in files
        if imported_roots(path) & PLATFORM_PACKAGES
    }
    assert offenders == {}


def test_the_check_would_catch_an_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom telegram.ext import Application\n")
    assert imported_roots(sample) & PLATFORM_PACKAGES == {"telegram"}


def test_only_storage_writes_sql() -> None:
    """Repositories own SQL: no INSERT/UPDATE/DELETE text outside storage/."""
    writes = ("INSERT INTO", "UPDATE people", "DELETE FROM")
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("handlers", "jobs", "bot")
        for path in (ROOT / package).rglob("*.py")
        if any(word in path.read_text(encoding="utf-8") for word in writes)
    ]
    assert offenders == []
