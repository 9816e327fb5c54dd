"""Reaching the store from tests: each call in a unit of work of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bot.app import App
from bot.core.messages import Outgoing
from storage.clock import utcnow
from storage.models import NewDelivery


class Repository:
    """``people(app).get(1)`` runs ``uow.people.get(1)`` in its own transaction, committed."""

    def __init__(self, app: App, name: str) -> None:
        self._app = app
        self._name = name

    def __getattr__(self, method: str) -> Callable[..., Awaitable[Any]]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            async with self._app.store.unit_of_work() as uow:
                return await getattr(getattr(uow, self._name), method)(*args, **kwargs)

        return call


def people(app: App) -> Any:
    return Repository(app, "people")


def conversations(app: App) -> Any:
    return Repository(app, "conversations")


def outbox(app: App) -> Any:
    return Repository(app, "outbox")


def inbox(app: App) -> Any:
    return Repository(app, "inbox")


async def send_later(app: App, messages: list[Outgoing], *, priority: int = 10) -> list[int]:
    """Queue messages as a job would (a summary, an offer) and wake the sender."""
    rows = [
        NewDelivery(
            dedupe_key=f"test:{uuid.uuid4().hex}",
            platform=message.chat.platform,
            chat=str(message.chat),
            payload=message.model_dump_json(),
            priority=priority,
        )
        for message in messages
    ]
    async with app.store.unit_of_work() as uow:
        added = await uow.outbox.add(rows)
    app.outbox.wake()
    return [row.id for row in added]


async def delivery_statuses(app: App, ids: list[int]) -> list[str]:
    marks = ", ".join("?" for _ in ids)
    rows = await app.store.db.fetchall(
        f"SELECT id, status FROM deliveries WHERE id IN ({marks})",
        ids,
    )
    found = {row["id"]: row["status"] for row in rows}
    return [found.get(row_id, "missing") for row_id in ids]


async def drained(app: App, within: float = 10.0, *, waiting: bool = False) -> None:
    """Wait until nothing due is left to send: every row sent, blocked, failed or (unless
    ``waiting``) waiting for a later try."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    horizon = "9999" if waiting else None
    while True:
        [[due]] = await app.store.db.fetchall(
            "SELECT COUNT(*) FROM deliveries WHERE status = 'sending' "
            "OR (status = 'pending' AND next_attempt_at <= ?)",
            (horizon or utcnow().isoformat(timespec="microseconds"),),
        )
        if due == 0 and app.idle:
            return
        if loop.time() > deadline:
            raise AssertionError(f"{due} messages still due after {within}s")
        await asyncio.sleep(0.01)
