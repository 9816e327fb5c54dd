"""An influencer's side of an offer: accept (slot, link, code), decline, submit the post.

Each operation runs in the caller's unit of work, so the slot, the promo code and the reply
that announces them commit together or not at all.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.i18n import N_
from storage.base import UnitOfWork
from storage.models import AcceptOutcome, Campaign, Offer, Person, offer_card_ref

# Easy to read aloud and to type: no 0/O or 1/I to confuse.
CODE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH: Final = 4
REF_LENGTH: Final = 6
# Tries at a fresh random code before giving up on a campaign's crowded name prefix.
CODE_TRIES: Final = 8
FALLBACK_PREFIX: Final = "KOL"
# Latin letters that Unicode does not split into a base letter and an accent.
_NO_DECOMPOSITION: Final = str.maketrans(
    {"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "ß": "ss", "Æ": "AE", "æ": "ae"}
)

# Why an influencer declines, as they read it; the keys are stored.
DECLINE_REASONS: Final = {
    "time": N_("No time right now"),
    "brand": N_("The brand is not for me"),
    "commission": N_("The commission is too low"),
    "audience": N_("Not right for my audience"),
    "deadline": N_("The deadline is too short"),
}
NO_REASON: Final = "none"
# The advertising label EU consumer rules expect on a paid post, as readers of each language
# know it.
DISCLOSURE: Final = N_("#ad")


@dataclass(frozen=True, slots=True)
class AcceptResult:
    outcome: AcceptOutcome
    offer: Offer | None
    campaign: Campaign | None = None
    link: str = ""
    code: str = ""


def tracking_link(landing_url: str, ref: str) -> str:
    """The landing URL with ``ref`` set, every other query parameter and the fragment kept."""
    parts = urlsplit(landing_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "ref"]
    query.append(("ref", ref))
    return urlunsplit(parts._replace(query=urlencode(query)))


def new_ref(offer_id: int) -> str:
    """Unique by construction (the offer is one per person and campaign), unguessable by
    the random tail."""
    tail = "".join(secrets.choice(CODE_ALPHABET.lower()) for _ in range(REF_LENGTH))
    return f"{offer_id:x}-{tail}"


def code_prefix(*names: str) -> str:
    """Up to three Latin letters of the first name that has two: ``Zoé`` → ``ZOE``."""
    for name in names:
        spelled = name.translate(_NO_DECOMPOSITION)
        plain = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode()
        letters = [c for c in plain.upper() if "A" <= c <= "Z"]
        if len(letters) >= 2:
            return "".join(letters[:3])
    return FALLBACK_PREFIX


def new_promo_code(prefix: str) -> str:
    return prefix + "-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def accept_offer(
    uow: UnitOfWork, offer_id: int, person: Person, now: datetime
) -> AcceptResult:
    """Take a slot, then give the link and a promo code: an imported one while the agency's
    last, else one made up for the person."""
    taken = await uow.offers.accept(offer_id, person.id, new_ref(offer_id), now)
    if taken.outcome != "accepted" or taken.offer is None:
        offer = taken.offer
        campaign = await uow.campaigns.get(offer.campaign_id) if offer else None
        return AcceptResult(taken.outcome, offer, campaign)
    offer = taken.offer
    await _card_answered(uow, offer.id, now)
    campaign = await uow.campaigns.get(offer.campaign_id)
    assert campaign is not None
    code = await _promo_code(uow, offer, person, campaign)
    return AcceptResult("accepted", offer, campaign, link_of(campaign, offer), code)


def link_of(campaign: Campaign, offer: Offer) -> str:
    return tracking_link(campaign.landing_url, offer.ref_code or "")


async def _promo_code(uow: UnitOfWork, offer: Offer, person: Person, campaign: Campaign) -> str:
    imported = await uow.campaigns.give_code(campaign.id, offer.id)
    if imported is not None and await uow.offers.set_promo_code(offer.id, imported):
        return imported
    prefix = code_prefix(person.display_name, campaign.brand)
    for _ in range(CODE_TRIES):
        code = new_promo_code(prefix)
        if await uow.offers.set_promo_code(offer.id, code):
            return code
    # A prefix this crowded in one campaign: the brand's letters make room.
    code = new_promo_code(code_prefix(campaign.brand) + prefix[:1])
    if not await uow.offers.set_promo_code(offer.id, code):
        raise RuntimeError(f"no free promo code for offer {offer.id}")
    return code


async def decline_offer(
    uow: UnitOfWork, offer_id: int, person: Person, reason: str, now: datetime
) -> Offer | None:
    """Decline for one of DECLINE_REASONS, or NO_REASON; None when not open any more."""
    if reason not in DECLINE_REASONS:
        reason = NO_REASON
    declined = await uow.offers.decline(offer_id, person.id, reason, None, now)
    if declined is not None:
        await _card_answered(uow, offer_id, now)
    return declined


async def _card_answered(uow: UnitOfWork, offer_id: int, now: datetime) -> None:
    """An offer answered through the campaign's link while its card still waits (for the
    person's quiet hours): the card has nothing left to ask, so it never goes."""
    await uow.outbox.withdraw([offer_card_ref(offer_id)], now)
