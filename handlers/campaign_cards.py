"""How a campaign reads to its agency's admins: its fields, its status and its figures, in
their language and time zone."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from babel.numbers import format_percent

from bot.i18n import N_, Translator
from bot.services.campaigns import Report
from handlers.catalog import NICHES
from storage.models import Campaign, CampaignFigures, Commission

STATUS_LABELS: Final = {
    "draft": N_("Draft"),
    "publishing": N_("Publishing"),
    "published": N_("Published"),
    "paused": N_("Paused"),
    "closed": N_("Closed"),
}


def commission_text(t: Translator, commission: Commission) -> str:
    """A percentage of the sale, or an amount in its currency, as the reader writes them."""
    if commission.kind == "percent" and commission.basis_points is not None:
        share = Decimal(commission.basis_points).scaleb(-4)
        return format_percent(share, "#,##0.##%", locale=t.locale)
    return t.money(commission.amount_minor or 0, commission.currency or "")


def _list_or_all(items: list[str], everything: str) -> str:
    return ", ".join(items) if items else everything


def campaign_lines(t: Translator, draft: dict[str, Any], zone: str) -> list[str]:
    """A campaign (stored, or a draft in the conversation's shape) as its admin reads it."""
    lines = [
        t._("Brand: {brand}", brand=draft.get("brand", "")),
        t._("Title: {title}", title=draft.get("title", "")),
    ]
    if draft.get("commission"):
        commission = Commission.model_validate(draft["commission"])
        lines.append(t._("Commission: {commission}", commission=commission_text(t, commission)))
    if "countries" in draft:
        names = [t.country_name(code) for code in draft["countries"]]
        lines.append(
            t._("Countries: {countries}", countries=_list_or_all(names, t._("all countries")))
        )
    if "niches" in draft:
        chosen = set(draft["niches"])
        labels = [t._(label) for key, label in NICHES.items() if key in chosen]
        lines.append(t._("Topics: {topics}", topics=_list_or_all(labels, t._("all topics"))))
    if "min_followers" in draft:
        lines.append(
            t._("Minimum followers: {count}", count=t.number(int(draft["min_followers"])))
        )
    if "slots" in draft:
        lines.append(t._("Slots: {slots}", slots=t.number(int(draft["slots"]))))
    if draft.get("deadline"):
        deadline = datetime.fromisoformat(draft["deadline"])
        lines.append(
            t._("Deadline: {deadline} ({zone})", deadline=t.datetime(deadline, zone), zone=zone)
        )
    if draft.get("url"):
        lines.append(t._("Landing page: {url}", url=draft["url"]))
    return lines


def _as_draft(campaign: Campaign) -> dict[str, Any]:
    return {
        "brand": campaign.brand,
        "title": campaign.title,
        "commission": campaign.commission.model_dump(),
        "countries": list(campaign.countries),
        "niches": list(campaign.niches),
        "min_followers": campaign.min_followers,
        "deadline": campaign.deadline.isoformat(),
        "url": campaign.landing_url,
    }


def figures_lines(t: Translator, figures: CampaignFigures) -> list[str]:
    """The figures; posts whose links name none of their influencers' accounts are counted
    apart, since nothing ties them to whoever sent them."""
    n = t.number
    unmatched = []
    if figures.unmatched:
        unmatched.append(
            t._("Posts not matched to an account: {count}", count=n(figures.unmatched))
        )
    return [
        t._(
            "Matched {matched} · queued {queued} · sent {sent} · blocked {blocked} · "
            "failed {failed}",
            matched=n(figures.matched),
            queued=n(figures.queued),
            sent=n(figures.sent),
            blocked=n(figures.blocked),
            failed=n(figures.failed),
        ),
        t._(
            "Accepted {accepted} · declined {declined} · submitted {submitted} · "
            "slots left {left}",
            accepted=n(figures.accepted),
            declined=n(figures.declined),
            submitted=n(figures.submitted),
            left=n(figures.slots_left),
        ),
        *unmatched,
    ]


def report_card(t: Translator, found: Report, zone: str) -> str:
    campaign = found.campaign
    head = t._(
        "Campaign #{id}: {status}", id=campaign.id, status=t._(STATUS_LABELS[campaign.status])
    )
    return "\n".join(
        [head, *campaign_lines(t, _as_draft(campaign), zone), *figures_lines(t, found.figures)]
    )
