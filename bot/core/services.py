"""What handlers may use, handed to them by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings
from storage.conversations import ConversationRepository
from storage.database import Database
from storage.people import PeopleRepository
from storage.sealing import Sealer
from storage.updates import ProcessedUpdates


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    db: Database
    people: PeopleRepository
    conversations: ConversationRepository
    updates: ProcessedUpdates
    sealer: Sealer
