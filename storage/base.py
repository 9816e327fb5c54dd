"""What the core needs from a store: repositories that take part in one unit of work.

The core, handlers, services and jobs see only these interfaces and the plain models in
``storage.models``; ``storage.sqlite`` implements them (PostgreSQL joins as a second backend).
A repository never commits: the unit of work that handed it out does, once, with everything
written inside it (cosmicpython's Unit of Work), or rolls all of it back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Literal, Self

from storage.models import (
    Acceptance,
    AccountLink,
    Agency,
    AgencyAdmin,
    AgencyChat,
    AgencyListing,
    AlertSettings,
    AuditEntry,
    Campaign,
    CampaignFigures,
    CampaignPost,
    CampaignStatus,
    Conversation,
    ConversationKey,
    Delivery,
    DeliveryOutcome,
    Evidence,
    InboxItem,
    NewAuditEntry,
    NewCampaign,
    NewDelivery,
    NewInboxItem,
    Offer,
    OfferBatch,
    OfferCard,
    OfferMessage,
    OfferStatus,
    Person,
    PersonStatus,
    Profile,
    PromoCode,
    QuietHeld,
    Recipient,
    Redemption,
    Screening,
    SealedPayout,
    SendGroup,
    SocialClaim,
    StatusBy,
    SubmittedPost,
)


class StorageUnavailable(Exception):
    """The store cannot take the work now (locked, full, read-only, gone): try again later.

    Not a bug in the code that was running, so an update that meets it stays unhandled."""


class AlreadySignedUp(Exception):
    """The account already belongs to a person: one platform account, one person."""


class PeopleRepository(ABC):
    @abstractmethod
    async def get(self, person_id: int) -> Person | None: ...

    @abstractmethod
    async def by_account(self, platform: str, platform_user_id: str) -> Person | None: ...

    @abstractmethod
    async def account(self, platform: str, platform_user_id: str) -> AccountLink | None: ...

    @abstractmethod
    async def save_account(self, account: AccountLink) -> None:
        """Remember a platform account (a guest's too), reachable, at its private chat."""

    @abstractmethod
    async def create_applicant(
        self,
        profile: Profile,
        account: AccountLink,
        screen: Callable[[Profile, Evidence], Screening],
    ) -> Person:
        """Store a signup and its screening; AlreadySignedUp when the account has a person."""

    @abstractmethod
    async def evidence(
        self,
        person_id: int,
        socials: tuple[SocialClaim, ...],
        payout: SealedPayout | None,
    ) -> Evidence:
        """What others already claim of these handles and payout destination."""

    @abstractmethod
    async def update(
        self,
        person_id: int,
        actor: str,
        *,
        columns: dict[str, str] | None = None,
        socials: tuple[SocialClaim, ...] | None = None,
        niches: tuple[str, ...] | None = None,
        payout: SealedPayout | None = None,
    ) -> list[tuple[str, str]]:
        """Apply an edit; returns the review flags it raised."""

    @abstractmethod
    async def open_flags(self, person_id: int) -> list[tuple[str, str]]: ...

    @abstractmethod
    async def flag(self, person_id: int, reason: str, detail: str = "") -> None:
        """Ask a human to look; a flag already open for this reason and detail stays one."""

    @abstractmethod
    async def resolve_flag(self, person_id: int, reason: str) -> None:
        """Close the open flags for ``reason``: what they pointed at is no longer so."""

    @abstractmethod
    async def change_status(
        self,
        person_id: int,
        expected: PersonStatus,
        status: PersonStatus,
        reason: str | None,
        actor: str,
        by: StatusBy = "operator",
    ) -> bool:
        """Compare-and-set: False (nothing written) when the status is no longer ``expected``.

        ``by`` records who decided, so screening never overrides an operator's decision."""

    @abstractmethod
    async def set_reachable(self, platform: str, chat: str, reachable: bool) -> bool:
        """Mark the account whose private chat this is; True when that changed anything."""

    @abstractmethod
    async def is_unreachable(self, platform: str, chat: str) -> bool: ...

    @abstractmethod
    async def accounts_of(self, person_id: int) -> list[AccountLink]:
        """Every platform account of a person, oldest first."""

    @abstractmethod
    async def find(
        self, *, status: PersonStatus | None = None, flagged: bool = False, limit: int = 50
    ) -> list[Person]:
        """People (not erased) with open review flags first, then oldest first; ``flagged``
        keeps only those with flags."""

    @abstractmethod
    async def import_many(self, profiles: Sequence[tuple[Profile, AccountLink]]) -> int:
        """Bulk-create approved people (imports, load tests); returns how many were added."""


class ConversationRepository(ABC):
    @abstractmethod
    async def get(self, key: ConversationKey) -> Conversation | None:
        """The conversation, expired or not: callers decide what an expired one means."""

    @abstractmethod
    async def save(self, conversation: Conversation, now: datetime | None = None) -> None: ...

    @abstractmethod
    async def delete(self, key: ConversationKey) -> None: ...

    @abstractmethod
    async def purge_expired(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` conversations that expired before ``before``."""

    @abstractmethod
    async def open_chats(self, platform: str) -> list[str]:
        """Chats on ``platform`` with a conversation in progress."""


class InboxRepository(ABC):
    @abstractmethod
    async def add_many(self, items: Sequence[NewInboxItem]) -> list[InboxItem]:
        """Store what is new; returns the batch's updates stored and never tried, oldest first
        (an update handled or tried before is not returned again)."""

    @abstractmethod
    async def unhandled(self, limit: int, after_id: int = 0) -> list[InboxItem]:
        """Stored and not handled, oldest first from past ``after_id``: what a stop or a crash
        left behind."""

    @abstractmethod
    async def mark_handled(self, item_id: int, now: datetime) -> None:
        """Done: the row stays to recognise a redelivery by its id, without what was typed
        (payout details among it), which is stored sealed wherever it is kept."""

    @abstractmethod
    async def retry_later(self, item_id: int, error: str, at: datetime) -> int:
        """Count a failed try; returns how many tries it has had."""

    @abstractmethod
    async def set_aside(self, item_id: int, error: str) -> None:
        """A dead letter after its last failed try: kept for an operator, never handled
        again by itself."""

    @abstractmethod
    async def counts(self) -> dict[str, int]:
        """Rows per status."""

    @abstractmethod
    async def dead_letters(self, limit: int) -> list[InboxItem]: ...

    @abstractmethod
    async def last_update_id(self, source: str, chat_key: str) -> str | None:
        """The newest stored update id of one person on one bot (to backfill after it)."""

    @abstractmethod
    async def purge_handled(self, before: datetime, limit: int) -> int: ...


class OutboxRepository(ABC):
    @abstractmethod
    async def add(
        self, deliveries: Iterable[NewDelivery], *, lease: tuple[str, datetime] | None = None
    ) -> list[Delivery]:
        """Queue messages (a dedupe key seen before is skipped); with ``lease``, the new rows
        are claimed by that owner at once, for a send right after the commit."""

    @abstractmethod
    async def enqueue(self, deliveries: Sequence[NewDelivery]) -> int:
        """Queue many at once (a broadcast's batch): no rows come back, a dedupe key seen
        before is skipped, and a chat that refused us gets its row blocked. How many were
        new."""

    @abstractmethod
    async def claim(
        self, owner: str, until: datetime, now: datetime, limit: int, platforms: Sequence[str]
    ) -> list[Delivery]:
        """Lease due rows, in send order; a chat with an earlier row not yet due is skipped.
        Rows whose lease ran out are due again, unless ``owner`` holds them (it still has
        them in hand: a lease only lapses for a process that is gone)."""

    @abstractmethod
    async def finish(self, outcomes: Sequence[DeliveryOutcome], owner: str) -> None:
        """Record what became of leased rows; rows no longer leased by ``owner`` are left."""

    @abstractmethod
    async def enqueue_offers(
        self,
        campaign_id: int,
        first_offer_id: int,
        last_offer_id: int,
        priority: int,
        later: Sequence[tuple[SendGroup, datetime]],
    ) -> int:
        """Queue one row per offer of a publish batch (ref ``offer:<id>``, dedupe key
        ``offer:<campaign>:<person>``, a key seen before skipped), set-based: to the person's
        first reachable account (blocked when none is), due now, or at the time given for
        their send group. People on a daily digest get none: the digest names their offers.
        How many were new."""

    @abstractmethod
    async def reschedule(
        self, due: Sequence[tuple[str, datetime]], priority: int, *, quiet: bool = False
    ) -> int:
        """Pending rows with these refs become due at the time given with each, at
        ``priority`` (a paused campaign's offers held, then sent after it resumes);
        ``quiet``: those times are the ends of the people's quiet hours."""

    @abstractmethod
    async def quiet_rows(self, platform: str, chat: str) -> list[Delivery]:
        """The chat's pending rows held for the end of its person's quiet hours, in order."""

    @abstractmethod
    async def retime(self, due: Sequence[tuple[int, datetime]], now: datetime) -> int:
        """Rows held for quiet hours become due at the time given with each (their person
        changed their settings), held still while that is later than ``now``; how many."""

    @abstractmethod
    async def withdraw_quiet(self, ids: Sequence[int], now: datetime) -> int:
        """Rows held for quiet hours are done unsent, as ``withdraw`` leaves them; how many."""

    @abstractmethod
    async def withdraw(self, refs: Sequence[str], now: datetime) -> int:
        """Pending rows with these refs are done without being sent, as the sender marks a
        row whose offer was withdrawn before it went (``sent``, error ``withdrawn``)."""

    @abstractmethod
    async def block_chat(self, platform: str, chat: str) -> int:
        """Every pending row to a chat that refused us becomes ``blocked``."""

    @abstractmethod
    async def release(self, owners: Sequence[str]) -> int:
        """Rows in flight for these owners (gone processes) are pending again, due now."""

    @abstractmethod
    async def lease_owners(self) -> list[str]: ...

    @abstractmethod
    async def counts(self) -> list[tuple[str, str, int]]:
        """(platform, status, rows)."""

    @abstractmethod
    async def oldest_pending(self, now: datetime) -> datetime | None:
        """When the oldest row still to send was queued, leaving out those held for their
        people's quiet hours: they wait for a time someone chose, not for kolbot."""

    @abstractmethod
    async def held_for_quiet_hours(self, now: datetime) -> list[QuietHeld]:
        """Per platform, the rows held for the end of their people's quiet hours."""

    @abstractmethod
    async def retry(self, status: Literal["failed", "unconfirmed"], now: datetime) -> int:
        """Every row left ``status`` is due again now, its tries counted afresh (an
        operator's say-so); how many."""

    @abstractmethod
    async def hasten(self, platform: str, now: datetime, chats: int | None = None) -> list[str]:
        """Rows of ``platform`` waiting out a backoff after failed tries become due ``now``,
        with the rows of their chats that were handed back to wait behind them (not rows
        waiting for a 429 or for a time they were queued for): the platform answers again.
        ``chats``: at most that many chats, the soonest due first. The chats."""

    @abstractmethod
    async def purge_done(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` finished rows (sent, blocked, failed, unconfirmed) finished
        before ``before``."""


class AgencyRepository(ABC):
    @abstractmethod
    async def create(self, name: str) -> Agency: ...

    @abstractmethod
    async def get(self, agency_id: int) -> Agency | None: ...

    @abstractmethod
    async def all(self) -> list[AgencyListing]:
        """Every agency with its head counts, oldest first."""

    @abstractmethod
    async def create_invite(
        self, agency_id: int, code: str, created_by: str, expires_at: datetime
    ) -> None:
        """Store a one-time code (only its hash is kept)."""

    @abstractmethod
    async def redeem_invite(
        self, code: str, platform: str, platform_user_id: str, now: datetime
    ) -> Redemption:
        """Make the account an admin of the code's agency; a code works once (compare-and-set
        on its use), before it expires, for an account that admins no agency yet."""

    @abstractmethod
    async def void_invite(self, code: str, by: str, now: datetime) -> int | None:
        """Spend an unused code without making an admin (it was seen by others); the agency
        it was for, or None when it was no usable code."""

    @abstractmethod
    async def admins(self, agency_id: int) -> list[AgencyAdmin]: ...

    @abstractmethod
    async def agency_of(self, platform: str, platform_user_id: str) -> Agency | None:
        """The agency this account is an admin of, if any."""

    @abstractmethod
    async def is_admin(self, agency_id: int, platform: str, platform_user_id: str) -> bool: ...

    @abstractmethod
    async def set_offers_to_admins(self, agency_id: int, allowed: bool) -> Agency | None:
        """Whether the agency's admins are offered its campaigns; None: no such agency."""


class AuditRepository(ABC):
    @abstractmethod
    async def record(self, entry: NewAuditEntry) -> None: ...

    @abstractmethod
    async def tail(self, limit: int, *, agency_id: int | None = None) -> list[AuditEntry]:
        """The newest ``limit`` entries (of one agency, when given), oldest first."""


class CampaignRepository(ABC):
    @abstractmethod
    async def create(
        self, campaign: NewCampaign, status: CampaignStatus = "draft"
    ) -> Campaign: ...

    @abstractmethod
    async def get(self, campaign_id: int) -> Campaign | None: ...

    @abstractmethod
    async def of_agency(self, agency_id: int, limit: int = 50) -> list[Campaign]:
        """An agency's campaigns, newest first."""

    @abstractmethod
    async def all(self, limit: int = 100) -> list[Campaign]:
        """Every agency's campaigns, newest first."""

    @abstractmethod
    async def in_status(
        self, status: CampaignStatus, limit: int = 100, after_id: int = 0
    ) -> list[Campaign]:
        """Campaigns in one status, oldest first: ``publishing`` ones are the publishing
        job's work (a crash leaves them there, so it resumes them)."""

    @abstractmethod
    async def settling(self, limit: int = 100, after_id: int = 0) -> list[Campaign]:
        """Campaigns whose offers' rows a pause, resume or close has not settled yet, oldest
        first: the job's work after the first batch."""

    @abstractmethod
    async def settle_from(self, campaign_id: int, expected: int | None, after: int | None) -> bool:
        """Compare-and-set of ``settle_after``: 0 owes every offer's rows, an offer id those
        after it, None nothing; False (nothing written) when it is not ``expected``."""

    @abstractmethod
    async def change_status(
        self,
        campaign_id: int,
        expected: Sequence[CampaignStatus],
        status: CampaignStatus,
        now: datetime,
    ) -> bool:
        """Compare-and-set: False (nothing written) when the status is none of ``expected``."""

    @abstractmethod
    async def set_audience(self, campaign_id: int, audience: int) -> None:
        """How many matched, counted when publishing begins."""

    @abstractmethod
    async def figures(self, campaign_id: int) -> CampaignFigures:
        """Offers by status, and their offer messages by delivery status: the outbox rows
        whose dedupe key is ``offer_delivery_key`` of this campaign."""

    @abstractmethod
    async def import_codes(self, campaign_id: int, codes: Sequence[str]) -> int:
        """Add promo codes (one seen before for this campaign is skipped); how many were new."""

    @abstractmethod
    async def codes(self, campaign_id: int) -> list[PromoCode]:
        """Every imported code, in import order, with the offer it was given to."""

    @abstractmethod
    async def give_code(self, campaign_id: int, offer_id: int) -> str | None:
        """Hand the next free imported code to the offer (one code per offer; an offer that
        has one keeps it); None when none is left."""


class OfferRepository(ABC):
    @abstractmethod
    async def add_many(self, campaign_id: int, person_ids: Sequence[int], now: datetime) -> int:
        """Offer the campaign to these people (one already offered it is skipped); how many
        offers are new."""

    @abstractmethod
    async def offer_matching(
        self, campaign_id: int, after_person_id: int, limit: int, now: datetime
    ) -> OfferBatch | None:
        """Offer the campaign to the next ``limit`` matching people after ``after_person_id``
        (in person order) who have no offer of it yet; None when no one was left."""

    @abstractmethod
    async def send_groups(
        self, campaign_id: int, first_offer_id: int, last_offer_id: int
    ) -> list[SendGroup]:
        """The distinct timezones and alert settings of these offers' people."""

    @abstractmethod
    async def offer_to(
        self, campaign_id: int, person_id: int, now: datetime, *, asked: bool = False
    ) -> Recipient | None:
        """Offer the campaign to this one person if they match it and have no offer of it;
        ``asked`` (they opened its post themselves) whatever their alert settings."""

    @abstractmethod
    async def count_matching(self, campaign_id: int) -> int:
        """How many matching people have no offer of the campaign yet."""

    @abstractmethod
    async def open_recipients(
        self, campaign_id: int, after_offer_id: int, limit: int
    ) -> list[Recipient]:
        """Recipients of the campaign's offers still ``offered``, in offer order."""

    @abstractmethod
    async def cards(
        self,
        campaign_id: int,
        offer_ids: Sequence[int],
        sent_after: datetime,
        *,
        accepted: bool = True,
    ) -> list[OfferCard]:
        """The sent cards of the campaign's accepted offers (unless not ``accepted``), and of
        these offers those sent since ``sent_after``."""

    @abstractmethod
    async def get(self, offer_id: int) -> Offer | None: ...

    @abstractmethod
    async def of_campaign_person(self, campaign_id: int, person_id: int) -> Offer | None: ...

    @abstractmethod
    async def of_person(
        self, person_id: int, statuses: Sequence[OfferStatus], limit: int = 50
    ) -> list[Offer]:
        """A person's offers in these statuses, newest first."""

    @abstractmethod
    async def accept(
        self, offer_id: int, person_id: int, ref_code: str, now: datetime
    ) -> Acceptance:
        """Take a slot: the offer goes from offered to accepted only while the campaign is
        published, before its deadline, with a slot left; compare-and-set on the campaign's
        count, so of many pressing at once exactly as many as there are slots get one."""

    @abstractmethod
    async def decline(
        self, offer_id: int, person_id: int, reason: str, note: str | None, now: datetime
    ) -> Offer | None:
        """offered to declined; None when the offer was not open or not this person's."""

    @abstractmethod
    async def submit(
        self,
        offer_id: int,
        person_id: int,
        content_url: str,
        now: datetime,
        content_handle: str | None = None,
    ) -> Offer | None:
        """accepted (or submitted, to correct the link) to submitted, with the person's
        account the link names (None: it names none); None otherwise."""

    @abstractmethod
    async def posts(self, campaign_id: int, limit: int) -> list[SubmittedPost]:
        """The campaign's submitted posts, the latest first."""

    @abstractmethod
    async def set_promo_code(self, offer_id: int, code: str) -> bool:
        """Give an accepted offer its code; False when the campaign already gave it away."""

    @abstractmethod
    async def withdraw_open(
        self, campaign_id: int, now: datetime, after_offer_id: int = 0, limit: int | None = None
    ) -> list[int]:
        """Offers still ``offered`` become withdrawn: every one, or the first ``limit`` after
        ``after_offer_id``; their ids, in order."""

    @abstractmethod
    async def record_message(
        self, offer_id: int, platform: str, chat: str, message_id: str, now: datetime
    ) -> None:
        """Where the offer's card is (the latest one per chat)."""

    @abstractmethod
    async def messages(self, offer_id: int) -> list[OfferMessage]: ...

    @abstractmethod
    async def mark_reminded(self, offer_id: int, which: str, now: datetime) -> bool:
        """Record the ``48h`` or ``2h`` reminder once; False when it was already recorded."""

    @abstractmethod
    async def with_codes(self, campaign_id: int) -> list[Offer]:
        """The campaign's offers that hold a promo code, in the order they got it."""

    @abstractmethod
    async def awaiting_post(
        self, which: str, deadline_after: datetime, deadline_until: datetime, limit: int
    ) -> list[Offer]:
        """Accepted offers with no post yet and no ``which`` reminder recorded, whose
        campaign's deadline falls in (``deadline_after``, ``deadline_until``], soonest
        deadline first. A closed campaign's accepted places stand, so they count too."""


class AgencyChatRepository(ABC):
    @abstractmethod
    async def link(
        self,
        agency_id: int,
        platform: str,
        chat: str,
        title: str,
        linked_by: str,
        now: datetime,
        language: str = "en",
    ) -> AgencyChat | None:
        """Make the chat one of the agency's targets (again: the title is refreshed); None when
        another agency has linked it."""

    @abstractmethod
    async def unlink(self, agency_id: int, platform: str, chat: str) -> bool: ...

    @abstractmethod
    async def of_agency(self, agency_id: int) -> list[AgencyChat]: ...

    @abstractmethod
    async def get(self, platform: str, chat: str) -> AgencyChat | None: ...

    @abstractmethod
    async def move(self, platform: str, old_chat: str, new_chat: str) -> bool:
        """A group that became a supergroup keeps its link under its new address."""

    @abstractmethod
    async def record_post(
        self, campaign_id: int, agency_chat_id: int, message_id: str, now: datetime
    ) -> None: ...

    @abstractmethod
    async def posts(self, campaign_id: int) -> list[CampaignPost]: ...


class AlertSettingsRepository(ABC):
    @abstractmethod
    async def get(self, person_id: int) -> AlertSettings:
        """The person's settings, or the defaults when they never changed them."""

    @abstractmethod
    async def save(self, settings: AlertSettings, now: datetime) -> None: ...

    @abstractmethod
    async def mark_digest_sent(self, person_id: int, local_date: str, now: datetime) -> bool:
        """Once a local day: False when that day's digest was already recorded."""

    @abstractmethod
    async def digest_hours(self) -> list[tuple[str, int]]:
        """(time zone, digest hour) of every approved person on a daily digest, once each:
        what a digest run works out the local time for."""

    @abstractmethod
    async def digests_due(
        self, timezone: str, digest_hour: int, local_date: str, after_person_id: int, limit: int
    ) -> list[AlertSettings]:
        """Approved people on a daily digest at this hour in this zone whose digest for
        ``local_date`` was not sent yet, by person id from past ``after_person_id``."""


class SealingKeyRepository(ABC):
    """Which key sealed the payout details, and the sealed values, to seal them again."""

    @abstractmethod
    async def recorded_check(self) -> str | None:
        """The check of the key recorded with the database; None before one was."""

    @abstractmethod
    async def record_check(self, key_check: str, now: datetime) -> None: ...

    @abstractmethod
    async def sealed_sample(self) -> str | None:
        """One sealed value (a payout's, or an unfinished signup's); None when nothing is
        sealed."""

    @abstractmethod
    async def payouts(self) -> list[tuple[int, SealedPayout]]:
        """Every stored payout, by person id."""

    @abstractmethod
    async def replace_payout(self, person_id: int, payout: SealedPayout) -> None: ...

    @abstractmethod
    async def draft_payouts(self) -> list[tuple[ConversationKey, SealedPayout]]:
        """Payouts given in conversations not finished yet."""

    @abstractmethod
    async def replace_draft_payout(self, key: ConversationKey, payout: SealedPayout) -> None: ...


class UnitOfWork(ABC):
    """One transaction: ``async with uow:`` commits on success, rolls back on any error.

    Storage failures leave the block as StorageUnavailable, whatever the backend raised."""

    people: PeopleRepository
    conversations: ConversationRepository
    inbox: InboxRepository
    outbox: OutboxRepository
    agencies: AgencyRepository
    audit: AuditRepository
    campaigns: CampaignRepository
    offers: OfferRepository
    agency_chats: AgencyChatRepository
    alerts: AlertSettingsRepository
    sealing_key: SealingKeyRepository

    @abstractmethod
    async def __aenter__(self) -> Self: ...

    @abstractmethod
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class Store(ABC):
    """A backend: hands out units of work, and read-only views outside of one."""

    @abstractmethod
    def unit_of_work(self) -> UnitOfWork:
        """A writing transaction; one at a time per store."""

    @abstractmethod
    def reading(self) -> UnitOfWork:
        """A read-only transaction that never waits for writers."""

    @abstractmethod
    async def close(self) -> None: ...
