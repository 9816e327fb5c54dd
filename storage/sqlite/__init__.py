"""The SQLite backend: one file, one writer at a time, WAL for readers."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Self

from storage.base import Store, UnitOfWork
from storage.sqlite.agencies import SqliteAgencies
from storage.sqlite.agency_chats import SqliteAgencyChats
from storage.sqlite.alerts import SqliteAlertSettings
from storage.sqlite.audit import SqliteAudit
from storage.sqlite.campaigns import SqliteCampaigns
from storage.sqlite.conversations import SqliteConversations
from storage.sqlite.database import Database, Durability, Session, unavailable
from storage.sqlite.inbox import SqliteInbox, legacy_sources
from storage.sqlite.offers import SqliteOffers
from storage.sqlite.outbox import SqliteOutbox
from storage.sqlite.people import SqlitePeople
from storage.sqlite.sealing_key import SqliteSealingKey

__all__ = ["Database", "SqliteStore"]


class SqliteUnitOfWork(UnitOfWork):
    def __init__(
        self,
        opener: AbstractAsyncContextManager[Session],
        ttl: timedelta,
        legacy_sources: frozenset[str] = frozenset(),
    ) -> None:
        self._opener = opener
        self._ttl = ttl
        self._legacy_sources = legacy_sources

    async def __aenter__(self) -> Self:
        try:
            session = await self._opener.__aenter__()
        except sqlite3.Error as error:
            raise (unavailable(error) or error) from error
        self.people = SqlitePeople(session)
        self.conversations = SqliteConversations(session, self._ttl)
        self.inbox = SqliteInbox(session, self._legacy_sources)
        self.outbox = SqliteOutbox(session)
        self.agencies = SqliteAgencies(session)
        self.audit = SqliteAudit(session)
        self.campaigns = SqliteCampaigns(session)
        self.offers = SqliteOffers(session)
        self.agency_chats = SqliteAgencyChats(session)
        self.alerts = SqliteAlertSettings(session)
        self.sealing_key = SqliteSealingKey(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self._opener.__aexit__(exc_type, exc, traceback)
        except sqlite3.Error as error:
            # The commit (or rollback) itself failed: a full disk, a lock held too long.
            raise (unavailable(error) or error) from error
        if isinstance(exc, sqlite3.Error):
            translated = unavailable(exc)
            if translated is not None:
                raise translated from exc


class SqliteStore(Store):
    def __init__(
        self,
        db: Database,
        conversation_ttl: timedelta,
        legacy_sources: frozenset[str] = frozenset(),
    ) -> None:
        self.db = db
        self._ttl = conversation_ttl
        self._legacy_sources = legacy_sources

    @classmethod
    async def open(
        cls,
        path: Path,
        conversation_ttl: timedelta,
        *,
        durability: Durability = "normal",
        migrate: bool = True,
    ) -> SqliteStore:
        db = await Database.open(path, durability=durability, migrate=migrate)
        try:
            legacy = await legacy_sources(db)
        except BaseException:
            await db.close()
            raise
        return cls(db, conversation_ttl, legacy)

    def unit_of_work(self) -> UnitOfWork:
        return SqliteUnitOfWork(self.db.writing(), self._ttl, self._legacy_sources)

    def reading(self) -> UnitOfWork:
        return SqliteUnitOfWork(self.db.reading(), self._ttl, self._legacy_sources)

    async def close(self) -> None:
        await self.db.close()
