"""ChatQueues: in order within a chat, concurrent across chats, bounded in both."""

from __future__ import annotations

import asyncio

import pytest
from bot.adapters.telegram.chats import ChatQueues, Job

from tests.e2e.telegram_harness import eventually


class Recorder:
    """Jobs that log their start and end, and finish only when released."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.running = 0
        self.most_running = 0
        self.gates: dict[str, asyncio.Event] = {}

    def job(self, name: str) -> Job:
        gate = self.gates.setdefault(name, asyncio.Event())

        async def run() -> None:
            self.log.append(f"start {name}")
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            try:
                await gate.wait()
            finally:
                self.running -= 1
            self.log.append(f"end {name}")

        return run

    def release(self, *names: str) -> None:
        for name in names:
            self.gates[name].set()


async def test_jobs_in_one_chat_run_in_order_one_at_a_time() -> None:
    queues = ChatQueues(concurrency=8)
    jobs = Recorder()
    for name in ("a1", "a2", "a3"):
        queues.submit("a", jobs.job(name))
    await eventually(lambda: jobs.log == ["start a1"])
    jobs.release("a3", "a2")  # later jobs being ready does not let them jump the queue
    await asyncio.sleep(0.01)
    assert jobs.log == ["start a1"]
    jobs.release("a1")
    await queues.join()
    assert jobs.log == ["start a1", "end a1", "start a2", "end a2", "start a3", "end a3"]
    assert (queues.pending, queues.busy_chats) == (0, 0)


async def test_chats_run_concurrently_up_to_the_bound() -> None:
    queues = ChatQueues(concurrency=2)
    jobs = Recorder()
    for chat in ("a", "b", "c"):
        queues.submit(chat, jobs.job(chat))
    await eventually(lambda: jobs.running == 2)
    await asyncio.sleep(0.01)
    assert jobs.running == 2
    assert "start c" not in jobs.log
    jobs.release("a")
    await eventually(lambda: "start c" in jobs.log)
    jobs.release("b", "c")
    await queues.join()
    assert jobs.most_running == 2


async def test_a_backlogged_chat_does_not_take_every_slot() -> None:
    queues = ChatQueues(concurrency=2)
    jobs = Recorder()
    for index in range(10):
        queues.submit("busy", jobs.job(f"busy{index}"))
    queues.submit("quiet", jobs.job("quiet"))
    await eventually(lambda: "start quiet" in jobs.log)
    assert jobs.log == ["start busy0", "start quiet"]
    jobs.release(*jobs.gates)
    await queues.join()


async def test_a_failing_job_does_not_stop_its_chat(caplog: pytest.LogCaptureFixture) -> None:
    queues = ChatQueues()
    done: list[str] = []

    async def fail() -> None:
        raise RuntimeError("boom")

    async def succeed() -> None:
        done.append("next")

    queues.submit("a", fail)
    queues.submit("a", succeed)
    await queues.join()
    assert done == ["next"]
    assert "handling a telegram update failed" in caplog.text


async def test_room_waits_while_the_backlog_is_full() -> None:
    queues = ChatQueues(concurrency=4, backlog=2)
    jobs = Recorder()
    queues.submit("a", jobs.job("a"))
    queues.submit("b", jobs.job("b"))
    waiting = asyncio.create_task(queues.room())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    jobs.release("a")
    await asyncio.wait_for(waiting, 1)
    jobs.release("b")
    await queues.join()


async def test_close_lets_work_finish_then_cancels_the_rest() -> None:
    queues = ChatQueues()
    jobs = Recorder()
    queues.submit("a", jobs.job("quick"))
    queues.submit("b", jobs.job("stuck"))
    queues.submit("b", jobs.job("never"))
    await eventually(lambda: jobs.running == 2)
    jobs.release("quick")
    await queues.close(grace=0.05)
    assert "end quick" in jobs.log
    assert "start never" not in jobs.log
    assert (queues.pending, queues.busy_chats) == (0, 0)


async def test_a_suspended_job_lends_its_slot_and_keeps_its_chat_in_order() -> None:
    queues = ChatQueues(concurrency=1)
    jobs = Recorder()
    waited = asyncio.Event()

    async def rate_limited() -> None:
        jobs.log.append("start a1")
        async with queues.suspended():
            await waited.wait()
        jobs.log.append("end a1")

    queues.submit("a", rate_limited)
    queues.submit("a", jobs.job("a2"))
    queues.submit("b", jobs.job("b"))
    # While a1 waits outside the only slot, b runs; a2 still waits for a1.
    await eventually(lambda: "start b" in jobs.log)
    assert "start a2" not in jobs.log
    waited.set()
    await asyncio.sleep(0.01)
    assert "end a1" not in jobs.log  # it takes the slot back only when b gives it up
    jobs.release("b", "a2")
    await queues.join()
    assert jobs.log.index("end a1") < jobs.log.index("start a2")
    assert jobs.most_running == 1


async def test_suspended_outside_a_job_does_nothing() -> None:
    queues = ChatQueues(concurrency=1)
    async with queues.suspended():
        pass
    jobs = Recorder()
    queues.submit("a", jobs.job("a"))
    await eventually(lambda: jobs.running == 1)
    jobs.release("a")
    await queues.join()


async def test_a_full_chat_refuses_more_while_other_chats_get_in() -> None:
    queues = ChatQueues(concurrency=4, backlog=10, chat_backlog=2)
    jobs = Recorder()
    assert queues.submit("a", jobs.job("a1"))
    assert queues.submit("a", jobs.job("a2"))
    assert not queues.submit("a", jobs.job("a3"))  # two waiting already
    assert not queues.has_room("a")
    assert queues.submit("b", jobs.job("b"))
    assert queues.pending == 3  # what was refused does not count
    await eventually(lambda: "start a1" in jobs.log)
    assert queues.submit("a", jobs.job("a3"))  # a1 runs: one waits, room for one more
    room = asyncio.create_task(queues.chat_room("a"))
    await asyncio.sleep(0.01)
    assert not room.done()
    jobs.release("a1")
    await asyncio.wait_for(room, 1)
    jobs.release("a2", "a3", "b")
    await queues.join()
    assert [line for line in jobs.log if line.startswith("start a")] == [
        "start a1",
        "start a2",
        "start a3",
    ]
