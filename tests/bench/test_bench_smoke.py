"""Every bench workload at a tiny size, so ``make test`` notices when ``make bench`` breaks.

These check that each workload runs and measures (the bot started, answered every user, made no
call Telegram would refuse), never that a goal is met: at these sizes, and on a busy machine,
the figures mean nothing. A workload whose set-up function is still pending may say "not run".
"""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from bench import dispatch, ingress, memory
from bench.__main__ import main
from bench.config import Config
from bench.fake_bot_api import TOKEN, FakeBotApi
from bench.report import Outcome
from tests.clock import kolbot_command as clocked

TINY = Config(
    users=8,
    tutorial_users=4,
    messages=40,
    cap_seconds=0.5,
    people=1000,
    idle_seconds=0.5,
)
PENDING = ("outbox enqueue API pending", "bulk people API pending")


@pytest.fixture(autouse=True)
def bot_at_the_tests_instant(monkeypatch: pytest.MonkeyPatch) -> None:
    """The workloads queue messages in this process, at the test's instant: the bot they
    start runs at that instant too, or it would find them due a day early or late."""
    for workload in (dispatch, ingress, memory):
        monkeypatch.setattr(workload, "kolbot_command", lambda: clocked("run"))


def assert_measured(outcomes: list[Outcome], *, may_be_pending: bool = False) -> None:
    assert outcomes
    for outcome in outcomes:
        if may_be_pending and outcome.status == "not run":
            assert outcome.reason in PENDING
            continue
        assert outcome.status == "ok", f"{outcome.workload}: {outcome.reason}"
        assert outcome.rows
        for row in outcome.rows:
            assert row.value is not None, f"{outcome.workload}: no {row.figure}"
            assert row.value >= 0, f"{outcome.workload}: {row.figure} = {row.value}"


async def test_ingress_runs_the_bot_in_both_modes_beside_the_tutorial_bot() -> None:
    outcomes = await ingress.run(TINY)
    assert_measured(outcomes)
    assert [o.workload for o in outcomes] == [
        "ingress: kolbot polling",
        "ingress: kolbot webhook",
        "ingress: tutorial bot",
    ]
    for outcome in outcomes:
        rate = next(row for row in outcome.rows if row.figure == "updates/s")
        assert rate.value is not None
        assert rate.value > 0


async def test_dispatch_runs_or_says_why_not() -> None:
    assert_measured(await dispatch.run(TINY), may_be_pending=True)


async def test_memory_runs_or_says_why_not() -> None:
    assert_measured(await memory.run(TINY), may_be_pending=True)


async def test_the_fake_refuses_what_telegram_would() -> None:
    async with FakeBotApi(delay=0, cap=2) as api, aiohttp.ClientSession() as session:
        api.add_user(42, "Anna")
        base = f"{api.base_url}{TOKEN}"
        statuses = []
        for _ in range(3):
            async with session.post(
                f"{base}/sendMessage", data={"chat_id": "42", "text": "hi"}
            ) as response:
                statuses.append(response.status)
                answer = await response.json()
        assert statuses == [200, 200, 429]
        assert answer["parameters"]["retry_after"] >= 1
        assert api.rate_limited == 1
        assert api.errors == []  # a 429 is Telegram's answer, not the bot's mistake
        async with session.post(f"{base}/frobnicate") as response:
            assert response.status == 404
        async with session.post(f"{api.base_url}1:wrong/getMe") as response:
            assert response.status == 401
        assert len(api.errors) == 2


async def test_get_updates_counts_each_fetch_and_forgets_what_the_offset_confirms() -> None:
    async with FakeBotApi(delay=0) as api, aiohttp.ClientSession() as session:
        user = {"id": 42, "is_bot": False, "first_name": "Anna"}
        first = api.push({"update_id": api.next_update_id(), "message": {"from": user}})
        url = f"{api.base_url}{TOKEN}/getUpdates"
        for offset in (0, 0, first + 1):
            async with session.post(url, data={"offset": str(offset)}) as response:
                batch = (await response.json())["result"]
        assert batch == []
        assert api.fetched[first] == 2


def test_show_prints_the_saved_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = [
        Outcome("memory at rest", "not run", "bulk people API pending").as_json(),
        Outcome("dispatch: no limit", "failed", "the bot exited (1)\nTraceback").as_json(),
    ]
    record = {
        "date": "2026-01-01T00:00:00+00:00",
        "commit": "abc1234",
        "machine": {"cpus": 2, "cpu": "", "system": "", "python": "3.11"},
        "outcomes": outcomes,
    }
    saved = tmp_path / "latest.json"
    saved.write_text(json.dumps(record))
    assert main(["--show", "--output", str(saved)]) == 0
    printed = capsys.readouterr().out
    assert "not run: bulk people API pending" in printed
    assert "failed: the bot exited (1)" in printed
    assert "Traceback" in printed  # the whole reason of a failure, under the table
