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


def figures_lines(t: Translator, figures: CampaignFigures, zone: str) -> list[str]:
    """The figures, each saying what it counts: cards are private messages, answers come
    on a card or through the campaign's link (so more can accept than cards went), and what
    waits for people's quiet hours says until when, in the reader's zone. Posts whose links
    name none of their influencers' accounts are counted apart, since nothing ties them to
    whoever sent them."""
    n = t.number
    lines = [
        t._("Influencers matched: {matched}", matched=n(figures.matched)),
        t._(
            "Offer cards by private message: queued {queued} · sent {sent} · "
            "blocked {blocked} (chat unreachable) · failed {failed}",
            queued=n(figures.queued),
            sent=n(figures.sent),
            blocked=n(figures.blocked),
            failed=n(figures.failed),
        ),
    ]
    if figures.quiet and figures.quiet_from and figures.quiet_until:
        first = t.datetime(figures.quiet_from, zone)
        last = t.datetime(figures.quiet_until, zone)
        lines.append(
            t.ngettext(
                "{n} of them waits for the person's quiet hours to end: {when}",
                "{n} of them wait for their people's quiet hours to end: {when}",
                figures.quiet,
                when=first if first == last else f"{first} – {last}",
            )
        )
    if figures.without_card:
        lines.append(
            t._(
                "No card for {count} of those matched: on a daily digest or with offers "
                "off, offered through the campaign's link, or withdrawn before it went",
                count=n(figures.without_card),
            )
        )
    lines.append(
        t._(
            "Answers, on a card or through the campaign's link: accepted {accepted} · "
            "declined {declined} · posts submitted {submitted} · slots left {left}",
            accepted=n(figures.accepted),
            declined=n(figures.declined),
            submitted=n(figures.submitted),
            left=n(figures.slots_left),
        )
    )
    if figures.unmatched:
        lines.append(t._("Posts not matched to an account: {count}", count=n(figures.unmatched)))
    return lines


def report_card(t: Translator, found: Report, zone: str) -> str:
    campaign = found.campaign
    head = t._(
        "Campaign #{id}: {status}", id=campaign.id, status=t._(STATUS_LABELS[campaign.status])
    )
    return "\n".join(
        [
            head,
            *campaign_lines(t, _as_draft(campaign), zone),
            *figures_lines(t, found.figures, zone),
        ]
    )
