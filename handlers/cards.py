"""The profile as text: one renderer for the review screen and for /profile."""

from __future__ import annotations

from typing import Any

from bot.i18n import LANGUAGE_NAMES, Translator
from handlers.catalog import NICHES, PAYOUT_METHODS
from handlers.validators import NETWORK_LABELS
from storage.models import Person


def draft_from_person(person: Person) -> dict[str, Any]:
    """A person's profile in the shape the flow collects, so edits reuse the same steps."""
    return {
        "lang": person.language,
        "name": person.display_name,
        "country": person.country,
        "tz": person.timezone,
        "socials": [
            {"network": s.network, "handle": s.handle, "followers": s.followers}
            for s in person.socials
        ],
        "niches": list(person.niches),
        "payout": person.payout.model_dump(),
        "consent_version": person.consent_version,
        "consent_at": person.consent_at.isoformat(),
    }


def socials_lines(t: Translator, socials: list[dict[str, Any]]) -> list[str]:
    return [
        "• "
        + t.ngettext(
            "{network} @{handle}: {n} follower",
            "{network} @{handle}: {n} followers",
            s["followers"],
            network=NETWORK_LABELS[s["network"]],
            handle=s["handle"],
        )
        for s in socials
    ]


def profile_card(t: Translator, draft: dict[str, Any]) -> str:
    payout = draft.get("payout") or {}
    method = payout.get("method")
    chosen = set(draft.get("niches", []))
    # In the order of the signup's questions and of the review screen's Edit buttons.
    lines = [
        t._("Language: {language}", language=LANGUAGE_NAMES.get(draft.get("lang", ""), "")),
        t._("Name: {name}", name=draft.get("name", "")),
        t._("Country: {country}", country=t.country_name(draft.get("country", ""))),
        t._("Time zone: {timezone}", timezone=draft.get("tz", "")),
        t._("Social accounts:"),
        *socials_lines(t, draft.get("socials", [])),
        t._(
            "Topics: {topics}",
            # In the picker's order, whatever order they were stored in.
            topics=", ".join(t._(label) for n, label in NICHES.items() if n in chosen),
        ),
        t._(
            "Payout: {method} {masked}",
            method=t._(PAYOUT_METHODS[method]) if method in PAYOUT_METHODS else "",
            masked=payout.get("masked", ""),
        ),
    ]
    return "\n".join(lines)
