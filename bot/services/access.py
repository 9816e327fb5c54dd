"""Who may do what, and the audit of every agency and operator action, allowed or refused.

Operators run the programme: the command line, and the chat accounts in KOLBOT_OPERATORS.
Agency admins are the accounts that redeemed one of their agency's invites (the store says).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bot.settings import Settings
from storage.base import UnitOfWork
from storage.models import Agency, NewAuditEntry

# The actor the command line acts as: whoever has the shell has the database anyway.
CLI: Final = "cli"


@dataclass(frozen=True, slots=True)
class Roles:
    account: str
    operator: bool
    agency: Agency | None

    @property
    def agency_admin(self) -> bool:
        return self.agency is not None

    @property
    def names(self) -> frozenset[str]:
        """As command audiences name them."""
        return frozenset(
            name
            for name, held in (("operator", self.operator), ("agency", self.agency_admin))
            if held
        )

    def admin_of(self, agency_id: int) -> bool:
        return self.agency is not None and self.agency.id == agency_id


def is_operator(settings: Settings, account: str) -> bool:
    return account == CLI or account in settings.operators


async def roles_of(uow: UnitOfWork, settings: Settings, platform: str, user_id: str) -> Roles:
    account = f"{platform}:{user_id}"
    return Roles(
        account=account,
        operator=is_operator(settings, account),
        agency=await uow.agencies.agency_of(platform, user_id),
    )


async def audit(
    uow: UnitOfWork,
    actor: str,
    action: str,
    *,
    refused: bool = False,
    target: str = "",
    agency_id: int | None = None,
    person_id: int | None = None,
    detail: str = "",
) -> None:
    """Written in the unit of work of the action: a refusal commits with its answer."""
    await uow.audit.record(
        NewAuditEntry(
            actor=actor,
            action=action,
            outcome="refused" if refused else "allowed",
            target=target,
            agency_id=agency_id,
            person_id=person_id,
            detail=detail,
        )
    )
