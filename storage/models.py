"""The aggregates the repositories load and save."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PersonStatus = Literal["applicant", "approved", "rejected", "suspended"]
PayoutMethod = Literal["paypal", "iban"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class SocialClaim(_Frozen):
    network: str
    handle: str
    followers: int = Field(ge=0)
    verified_at: datetime | None = None


class SealedPayout(_Frozen):
    """A payout destination as we keep it: encrypted, masked for display, fingerprinted."""

    method: PayoutMethod
    sealed: str
    masked: str
    fingerprint: str


class Profile(_Frozen):
    """Everything a person tells us at signup; a Person is a Profile we accepted."""

    display_name: str
    language: str
    country: str
    timezone: str
    socials: tuple[SocialClaim, ...]
    niches: tuple[str, ...]
    payout: SealedPayout
    consent_version: str
    consent_at: datetime

    @property
    def total_followers(self) -> int:
        return sum(social.followers for social in self.socials)


class Person(Profile):
    id: int
    status: PersonStatus
    status_reason: str | None
    created_at: datetime
    # Open review flags as (reason, detail): why a human must look before approval.
    flags: tuple[tuple[str, str], ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


class AccountLink(_Frozen):
    """Where a person is on one platform, and whether we may still write to them."""

    platform: str
    platform_user_id: str
    dm_chat: str
    person_id: int | None = None
    reachable: bool = True


class Evidence(_Frozen):
    """What the store knows about a new profile that the profile itself cannot tell."""

    claimed_elsewhere: tuple[SocialClaim, ...]
    payout_reused: bool

    def as_flags(self) -> list[tuple[str, str]]:
        """Review flags as (reason, detail); details name the claim, never payout details."""
        flags = [("handle_claimed", f"{s.network}:{s.handle}") for s in self.claimed_elsewhere]
        if self.payout_reused:
            flags.append(("payout_reused", ""))
        return flags


class Screening(_Frozen):
    status: PersonStatus
    reason: str | None = None
    flags: tuple[tuple[str, str], ...] = ()


class ConversationKey(_Frozen):
    platform: str
    chat: str
    user: str


class Conversation(BaseModel):
    """A flow in progress; ``data`` is JSON-safe and saved after every step."""

    key: ConversationKey
    flow: str
    step: str
    data: dict[str, Any] = Field(default_factory=dict)
    updated_at: datetime | None = None
    expires_at: datetime | None = None
