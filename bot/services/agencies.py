"""Agencies: create one, hand out invites, let an invited account join as an admin."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Final

from bot.services.access import audit
from storage.base import UnitOfWork
from storage.clock import utcnow
from storage.models import Agency, AgencyListing, Invite, Redemption

INVITE_TTL: Final = timedelta(days=7)
# No 0/O or 1/I: codes are read aloud and typed by hand.
CODE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_GROUPS: Final = 3
CODE_GROUP_LENGTH: Final = 4


def new_code() -> str:
    """Twelve symbols from 32: 60 bits, far beyond guessing within a week."""
    groups = (
        "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LENGTH))
        for _ in range(CODE_GROUPS)
    )
    return "-".join(groups)


def normalize_code(typed: str) -> str:
    """What was typed, as codes are stored: upper case, grouped, whatever the spacing."""
    symbols = "".join(char for char in typed.upper() if char.isalnum())
    if len(symbols) != CODE_GROUPS * CODE_GROUP_LENGTH:
        return typed.strip().upper()
    return "-".join(
        symbols[i : i + CODE_GROUP_LENGTH] for i in range(0, len(symbols), CODE_GROUP_LENGTH)
    )


def agency_target(agency_id: int) -> str:
    return f"agency:{agency_id}"


async def create_agency(uow: UnitOfWork, name: str, actor: str) -> tuple[Agency, Invite]:
    """A new agency and its first invite."""
    agency = await uow.agencies.create(name)
    await audit(uow, actor, "agency.create", target=agency_target(agency.id), agency_id=agency.id)
    return agency, await make_invite(uow, agency, actor)


async def set_offers_to_admins(
    uow: UnitOfWork, agency_id: int, allowed: bool, actor: str
) -> Agency | None:
    """Whether the agency's own admins are offered its campaigns (not by default: an admin
    who is an influencer too would take a slot of a campaign they run); None: no agency."""
    agency = await uow.agencies.set_offers_to_admins(agency_id, allowed)
    if agency is not None:
        await audit(
            uow,
            actor,
            "agency.set",
            target=agency_target(agency_id),
            agency_id=agency_id,
            detail=f"offers_to_admins={'on' if allowed else 'off'}",
        )
    return agency


async def make_invite(uow: UnitOfWork, agency: Agency, actor: str) -> Invite:
    invite = Invite(code=new_code(), agency_id=agency.id, expires_at=utcnow() + INVITE_TTL)
    await uow.agencies.create_invite(agency.id, invite.code, actor, invite.expires_at)
    await audit(uow, actor, "agency.invite", target=agency_target(agency.id), agency_id=agency.id)
    return invite


async def join(uow: UnitOfWork, typed_code: str, platform: str, user_id: str) -> Redemption:
    """Redeem an invite; every try is audited, a refused one with why (never the code)."""
    redemption = await uow.agencies.redeem_invite(
        normalize_code(typed_code), platform, user_id, utcnow()
    )
    agency_id = redemption.agency.id if redemption.agency else None
    await audit(
        uow,
        f"{platform}:{user_id}",
        "agency.join",
        refused=redemption.outcome not in ("joined", "already_admin"),
        target=agency_target(agency_id) if agency_id is not None else "",
        agency_id=agency_id,
        detail=redemption.outcome,
    )
    return redemption


async def void_exposed(uow: UnitOfWork, typed_code: str, actor: str, where: str) -> bool:
    """A code sent where others read it is spent at once, before any of them can use it."""
    agency_id = await uow.agencies.void_invite(
        normalize_code(typed_code), f"void:{where}", utcnow()
    )
    if agency_id is None:
        return False
    await audit(
        uow,
        actor,
        "agency.void_invite",
        target=agency_target(agency_id),
        agency_id=agency_id,
        detail=f"sent in {where}",
    )
    return True


async def list_agencies(uow: UnitOfWork) -> list[AgencyListing]:
    return await uow.agencies.all()
