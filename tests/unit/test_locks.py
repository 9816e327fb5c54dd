"""Per-key locks serialize one key, not others, and are dropped when unused."""

from __future__ import annotations

import asyncio

from bot.core.locks import KeyedLock


async def test_same_key_waits_other_keys_do_not() -> None:
    locks, order = KeyedLock(), []
    release = asyncio.Event()

    async def hold(key: str, name: str, wait: bool) -> None:
        async with locks.hold(key):
            order.append(f"{name} in")
            if wait:
                await release.wait()
            order.append(f"{name} out")

    first = asyncio.create_task(hold("a", "first", wait=True))
    await asyncio.sleep(0)
    second = asyncio.create_task(hold("a", "second", wait=False))
    other = asyncio.create_task(hold("b", "other", wait=False))
    await other
    assert order == ["first in", "other in", "other out"]
    release.set()
    await asyncio.gather(first, second)
    assert order[3:] == ["first out", "second in", "second out"]
    assert len(locks) == 0
