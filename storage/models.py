"""The aggregates the repositories load and save."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

PersonStatus = Literal["applicant", "approved", "rejected", "suspended"]
# Who set a status: screening's may change with the person's edits, an operator's stands.
StatusBy = Literal["screening", "operator"]
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
    status_by: StatusBy = "operator"
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


class NewInboxItem(_Frozen):
    """An update as received: stored before the platform is told it arrived."""

    source: str  # the bot that received it, e.g. telegram:123456; update ids are unique per bot
    update_id: str
    # Whose updates run in order: one person on one platform (e.g. telegram:42).
    sender: str
    payload: str  # the platform-neutral event as JSON
    received_at: datetime


class InboxItem(NewInboxItem):
    id: int
    status: Literal["pending", "handled", "dead"] = "pending"
    attempts: int = 0
    last_error: str | None = None


# unconfirmed: its answer was lost as often as a send may repeat (it may have arrived); it
# goes again only when an operator says so.
DeliveryStatus = Literal["pending", "sending", "sent", "blocked", "failed", "unconfirmed"]


class NewDelivery(_Frozen):
    """One message to send. ``payload`` is a whole message as JSON, or ``ref`` names a record
    (``offer:12``) a renderer turns into a message at send time, fresh and in the person's
    current language."""

    dedupe_key: str
    platform: str
    chat: str
    payload: str | None = None
    ref: str | None = None
    # Lower goes first: replies to someone waiting ahead of bulk sends.
    priority: int = 0
    # Pending rows with the same key are superseded by a newer one (edits of one message).
    collapse_key: str | None = None
    # Not before this moment (quiet hours, a digest's hour); None is as soon as possible.
    next_attempt_at: datetime | None = None
    # ``next_attempt_at`` is the end of the person's quiet hours: a time they chose, so the
    # row keeps nothing else of their chat waiting, and is re-timed when they change it.
    quiet: bool = False


def offer_delivery_key(campaign_id: int, person_id: int) -> str:
    """The dedupe key of the outbox row carrying an offer: one per campaign and person, so a
    resumed publish never queues an offer twice, and a campaign's offer rows are one range of
    the key's index (its figures count them there)."""
    return f"{offer_key_prefix(campaign_id)}{person_id}"


def offer_key_prefix(campaign_id: int) -> str:
    return f"offer:{campaign_id}:"


def offer_card_ref(offer_id: int) -> str:
    """The ref of an offer's card, rendered when it goes."""
    return f"offer:{offer_id}"


DIGEST_KEY_PREFIX: Final = "digest:"


def digest_key(person_id: int, local_date: str) -> str:
    """What the dedupe key of a person's digest of one day starts with (its chat follows):
    one a day, however often the job runs."""
    return f"{DIGEST_KEY_PREFIX}{person_id}:{local_date}"


class Delivery(NewDelivery):
    id: int
    status: DeliveryStatus
    attempts: int = 0
    # Parts of a split message already sent: a retry resumes after them.
    parts_sent: int = 0
    created_at: datetime
    next_attempt_at: datetime  # always known once stored
    failing_since: datetime | None = None
    # Sends of this row whose answer was lost: each may have arrived.
    lost_answers: int = 0


class QuietHeld(_Frozen):
    """Rows of a platform held for the end of their people's quiet hours: how many, and
    when the first and the last of them go."""

    platform: str
    rows: int
    first: datetime
    last: datetime


class DeliveryOutcome(_Frozen):
    """What became of a leased row: sent, pending again (a retry), blocked, failed or
    unconfirmed."""

    id: int
    status: Literal["sent", "pending", "blocked", "failed", "unconfirmed"]
    message_id: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    parts_sent: int = 0
    attempts: int = 0
    failing_since: datetime | None = None
    # None: as the row had it.
    lost_answers: int | None = None


class Agency(_Frozen):
    id: int
    name: str
    created_at: datetime
    # Its admins are offered its campaigns like any influencer (``kolbot agency set``).
    offers_to_admins: bool = False


class AgencyListing(_Frozen):
    """An agency as ``kolbot agency list`` shows it."""

    agency: Agency
    admins: int
    open_invites: int


class AgencyAdmin(_Frozen):
    agency_id: int
    platform: str
    platform_user_id: str
    added_at: datetime

    @property
    def account(self) -> str:
        return f"{self.platform}:{self.platform_user_id}"


class Invite(_Frozen):
    """A code as handed out; the store keeps only its hash."""

    code: str
    agency_id: int
    expires_at: datetime


RedemptionOutcome = Literal[
    "joined", "unknown", "expired", "used", "already_admin", "admin_elsewhere"
]


class Redemption(_Frozen):
    """What became of ``/agency CODE``; ``agency`` is the code's, when the code exists."""

    outcome: RedemptionOutcome
    agency: Agency | None = None


AuditOutcome = Literal["allowed", "refused"]


class NewAuditEntry(_Frozen):
    """Who (``actor``: an account such as ``telegram:42``, or ``cli``) did what to what."""

    actor: str
    action: str
    outcome: AuditOutcome = "allowed"
    target: str = ""
    agency_id: int | None = None
    person_id: int | None = None
    detail: str = ""


class AuditEntry(NewAuditEntry):
    id: int
    created_at: datetime


CampaignStatus = Literal["draft", "publishing", "published", "paused", "closed"]
CommissionKind = Literal["percent", "fixed"]


class Commission(_Frozen):
    """What an influencer earns: basis points of a sale, or a fixed amount in minor units."""

    kind: CommissionKind
    basis_points: int | None = Field(default=None, ge=1, le=10_000)
    amount_minor: int | None = Field(default=None, gt=0)
    currency: str | None = Field(default=None, min_length=3, max_length=3)

    @classmethod
    def percent(cls, basis_points: int) -> Commission:
        return cls(kind="percent", basis_points=basis_points)

    @classmethod
    def fixed(cls, amount_minor: int, currency: str) -> Commission:
        return cls(kind="fixed", amount_minor=amount_minor, currency=currency)


class NewCampaign(_Frozen):
    """A campaign as an agency admin or a file describes it; empty ``countries`` or
    ``niches`` put no limit on them."""

    agency_id: int
    brand: str
    title: str
    brief: str
    commission: Commission
    countries: tuple[str, ...] = ()
    niches: tuple[str, ...] = ()
    min_followers: int = Field(default=0, ge=0)
    slots: int = Field(gt=0)
    deadline: datetime
    landing_url: str
    created_by: str


class Campaign(NewCampaign):
    id: int
    status: CampaignStatus
    slots_taken: int = 0
    audience: int | None = None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    closed_at: datetime | None = None
    # The last offer whose rows a pause, resume or close has settled; None when none is owed.
    settle_after: int | None = None

    @property
    def slots_left(self) -> int:
        return self.slots - self.slots_taken


class CampaignFigures(_Frozen):
    """How far a campaign got: its offers by status, and their cards (one private message
    per offer, for people on instant alerts) by outbox status: ``queued`` is pending or
    being sent, ``quiet`` of them held for the end of their people's quiet hours, the first
    going at ``quiet_from`` and the last at ``quiet_until``. Accepted and declined count
    answers on a card and through the campaign's link alike."""

    matched: int = 0
    queued: int = 0
    quiet: int = 0
    quiet_from: datetime | None = None
    quiet_until: datetime | None = None
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    accepted: int = 0
    declined: int = 0
    submitted: int = 0
    # Submitted posts whose links name none of the person's accounts.
    unmatched: int = 0
    withdrawn: int = 0
    slots_left: int = 0

    @property
    def without_card(self) -> int:
        """Matched but sent no card, and none on its way: on a daily digest (which names the
        offer) or with offers off, offered through the campaign's link, or withdrawn first."""
        return max(self.matched - self.queued - self.sent - self.blocked - self.failed, 0)


OfferStatus = Literal["offered", "accepted", "declined", "withdrawn", "submitted"]


class SubmittedPost(_Frozen):
    """A post in for a campaign, as its agency reads it: who, the link, and the account of
    theirs the link names (None: it names none, so nothing ties the post to them)."""

    offer_id: int
    person_id: int
    display_name: str
    content_url: str
    content_handle: str | None
    submitted_at: datetime


class Offer(_Frozen):
    id: int
    campaign_id: int
    person_id: int
    status: OfferStatus
    ref_code: str | None = None
    promo_code: str | None = None
    decline_reason: str | None = None
    decline_note: str | None = None
    content_url: str | None = None
    # The person's account the post's link names; None when it names none.
    content_handle: str | None = None
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None = None
    declined_at: datetime | None = None
    submitted_at: datetime | None = None
    withdrawn_at: datetime | None = None
    reminded_48h_at: datetime | None = None
    reminded_2h_at: datetime | None = None


# accepted: the slot is the person's. full: no slot left. paused, closed: the campaign is not
# taking acceptances (closed includes a passed deadline and a campaign not yet published).
# stale: the offer is no longer open (decided, withdrawn) or is not this person's.
AcceptOutcome = Literal["accepted", "full", "paused", "closed", "stale"]


class Acceptance(_Frozen):
    outcome: AcceptOutcome
    offer: Offer | None = None
    slots_left: int = 0


class OfferMessage(_Frozen):
    """Where an offer's card was sent, for edits later."""

    offer_id: int
    platform: str
    chat: str
    message_id: str
    sent_at: datetime


class PromoCode(_Frozen):
    campaign_id: int
    code: str
    offer_id: int | None = None


class AgencyChat(_Frozen):
    """A group or channel an agency broadcasts to; ``chat`` is its address string."""

    id: int
    agency_id: int
    platform: str
    chat: str
    title: str = ""
    linked_by: str
    linked_at: datetime
    language: str = "en"  # its posts': the linking admin's


class CampaignPost(_Frozen):
    campaign_id: int
    agency_chat_id: int
    message_id: str
    posted_at: datetime


AlertMode = Literal["instant", "digest", "off"]


class AlertSettings(_Frozen):
    """How a person wants offers: quiet hours are minutes after local midnight (start after
    end spans midnight; equal means none)."""

    person_id: int
    mode: AlertMode = "instant"
    digest_hour: int = Field(default=9, ge=0, le=23)
    quiet_start: int = Field(default=22 * 60, ge=0, le=1439)
    quiet_end: int = Field(default=8 * 60, ge=0, le=1439)
    digest_sent_on: str | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone a campaign is offered to, with what deciding when to send it needs: their
    alert mode, digest hour and quiet hours (minutes after local midnight). A plain
    dataclass: a publish makes one per person, a million at a time, from checked rows."""

    offer_id: int
    person_id: int
    language: str
    timezone: str
    platform: str
    dm_chat: str
    mode: AlertMode = "instant"
    digest_hour: int = 9
    quiet_start: int = 22 * 60
    quiet_end: int = 8 * 60


@dataclass(frozen=True, slots=True)
class SendGroup:
    """People who hear of an offer at the same moment: one timezone, one set of alert
    settings. A batch of a million offers has a few hundred of these at most."""

    timezone: str
    mode: AlertMode
    digest_hour: int
    quiet_start: int
    quiet_end: int


@dataclass(frozen=True, slots=True)
class OfferBatch:
    """Offers a publish made in one go: their ids run from ``first_offer_id`` to
    ``last_offer_id``, for people up to ``last_person_id``."""

    first_offer_id: int
    last_offer_id: int
    last_person_id: int
    offers: int


class OfferCard(_Frozen):
    """A card already sent for an offer, to edit when its campaign stops taking people; with
    the link's ref, the promo code and the post of an accepted one, which its edit keeps."""

    offer_id: int
    status: OfferStatus
    language: str
    timezone: str
    platform: str
    chat: str
    message_id: str
    ref_code: str | None
    promo_code: str | None
    content_url: str | None
