"""The operations of the programme, shared by chat handlers, the CLI, jobs and web routes.

Each takes the unit of work it runs in, so the caller decides what commits together."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.platform import PlatformQueries
from bot.settings import Settings
from storage.base import Store
from storage.sealing import Sealer


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    store: Store
    sealer: Sealer
    # What the running platforms can be asked (is this person an admin of that group?).
    platforms: PlatformQueries = field(default_factory=PlatformQueries)
