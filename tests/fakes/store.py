"""Reaching the store from tests: each call in a unit of work of its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.app import App


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
