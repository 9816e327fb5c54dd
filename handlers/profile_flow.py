"""The profile conversation: signup walks every step; /edit and the review screen revisit one.

Each step is an ``ask`` and an ``answer``. The answer validates, stores into the conversation
data (saved after every event) and names the next step. In edit mode a finished field group
leads back to the review screen instead of onward. The social accounts' steps are in
``handlers.profile_socials``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Final

from bot.core.context import Context
from bot.core.conversation import ReviewedFlow, Step
from bot.core.errors import Invalid
from bot.core.messages import Button, MultiSelect, Option
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, N_, normalize_language
from handlers import validators as v
from handlers.cards import profile_card
from handlers.catalog import CONSENT_TEXT, CONSENT_VERSION, NICHES, PAYOUT_METHODS
from handlers.keyboards import (
    USE_BUTTONS,
    Keyboard,
    button_value,
    picked_topics,
    rows,
    typed_text,
)
from handlers.profile_draft import is_edit
from handlers.profile_edits import save_field
from handlers.profile_socials import (
    COUNT_PREFIX,
    AccountButton,
    answer_account,
    answer_account_followers,
    answer_account_handle,
    answer_followers,
    answer_handle,
    answer_more_socials,
    answer_network,
    ask_account,
    ask_account_followers,
    ask_account_handle,
    ask_followers,
    ask_handle,
    ask_more_socials,
    ask_network,
    draft_socials,
)
from handlers.screening import submit, tell_outcome
from storage.clock import utcnow
from storage.models import Profile, SealedPayout, SocialClaim

FLOW: Final = "profile"
# Enough for one zone of every clock a country keeps (Russia keeps fifteen), each first in
# zones_for_country.
MAX_ZONE_BUTTONS: Final = 16
NICHE_KEY: Final = "niche"
NICHES_DONE: Final = "niche:done"

# What each Edit button revisits; a field group ends when a step leads outside it.
FIELD_GROUPS: Final = {
    "language": ("language",),
    "name": ("name",),
    "country": ("country", "timezone", "timezone_confirm"),
    "timezone": ("timezone", "timezone_confirm"),
    "socials": (
        "more_socials",
        "network",
        "handle",
        "followers",
        "account",
        "account_handle",
        "account_followers",
    ),
    "niches": ("niches",),
    "payout": ("payout_method", "payout_details"),
}
FIELD_LABELS: Final = {
    "language": N_("Language"),
    "name": N_("Name"),
    "country": N_("Country"),
    "timezone": N_("Time zone"),
    "socials": N_("Social accounts"),
    "niches": N_("Topics"),
    "payout": N_("Payout"),
}


# 1. Language -------------------------------------------------------------------------------


async def ask_language(ctx: Context) -> None:
    hint = normalize_language(ctx.incoming.user.language_hint)
    ordered = sorted(LANGUAGES, key=lambda code: code != hint)
    buttons = [Button(label=LANGUAGE_NAMES[code], data=f"lang:{code}") for code in ordered]
    ctx.reply(ctx._("Choose your language:"), buttons=rows(buttons, per_row=3))


async def answer_language(ctx: Context) -> str:
    if ctx.incoming.kind == "button":
        code = button_value(ctx.incoming.button_data, "lang")
    else:
        typed = typed_text(ctx).strip().casefold()
        names = {name.casefold(): code for code, name in LANGUAGE_NAMES.items()}
        code = names.get(typed) or normalize_language(typed) or ""
    if code not in LANGUAGES:
        raise Invalid(USE_BUTTONS)
    ctx.data["lang"] = code
    return "name"


# 2. Name -----------------------------------------------------------------------------------


def _platform_name(ctx: Context) -> str | None:
    """The name the platform shows for this person, when it would pass as an answer."""
    try:
        return v.parse_name(ctx.incoming.user.display_name or "")
    except Invalid:
        return None


async def ask_name(ctx: Context) -> None:
    suggestion = _platform_name(ctx)
    buttons: Keyboard = ()
    if suggestion:
        shown = suggestion if len(suggestion) <= 40 else suggestion[:39] + "…"
        buttons = ((Button(label=ctx._("Use “{name}”", name=shown), data="name:platform"),),)
    ctx.reply(ctx._("What name should brands see?"), buttons=buttons)


async def answer_name(ctx: Context) -> str:
    if ctx.incoming.kind == "button":
        button_value(ctx.incoming.button_data, "name")
        name = v.parse_name(ctx.incoming.user.display_name or "")
    else:
        name = v.parse_name(typed_text(ctx))
    ctx.data["name"] = name
    return "country"


# 3. Country and time zone ------------------------------------------------------------------

# The zones an abbreviation such as "CET", or a city such as "Springfield", stands for in the
# person's country, to confirm.
ZONE_GUESS: Final = "tz_guess"


async def ask_country(ctx: Context) -> None:
    ctx.reply(
        ctx._(
            "Which country do you live in? Type its name or its two-letter code, "
            "for example {example}.",
            example=f"{ctx.t.country_name('PL')} / PL",
        )
    )


async def answer_country(ctx: Context) -> str | None:
    data = ctx.incoming.button_data or ""
    if ctx.incoming.kind == "button" and data.startswith("country:"):
        # The suggestion for a typo: a code, so it parses whatever the language.
        country = v.parse_country(button_value(data, "country"), ctx.language)
    else:
        try:
            # The first lookup reads CLDR names in some 130 languages (about a second): it
            # runs beside the event loop so that other chats are not kept waiting.
            country = await asyncio.to_thread(v.parse_country, typed_text(ctx), ctx.language)
        except v.CountryGuess as guess:
            name = ctx.t.country_name(guess.code)
            ctx.reply(
                ctx._(guess.message, country=name),
                buttons=((Button(label=name, data=f"country:{guess.code}"),),),
            )
            return None
    if country != ctx.data.get("country"):
        ctx.data.pop("tz", None)
    ctx.data["country"] = country
    zones = v.zones_for_country(country)
    if len(zones) == 1:
        # One zone for the whole country: nothing to ask (Edit: Time zone still changes it).
        ctx.data.setdefault("tz", zones[0])
        return "network"
    return "timezone"


async def ask_timezone(ctx: Context) -> None:
    all_zones = v.zones_for_country(ctx.data["country"])
    zones = all_zones[:MAX_ZONE_BUTTONS]
    buttons = [Button(label=zone, data=f"tz:{index}") for index, zone in enumerate(zones)]
    ctx.reply(
        ctx._(
            "Which time zone are you in? Choose one, or type your city or the zone's name, "
            "for example {example}.",
            example=all_zones[0] if all_zones else "UTC",
        ),
        buttons=rows(buttons),
    )


async def answer_timezone(ctx: Context) -> str:
    country = ctx.data["country"]
    if ctx.incoming.kind == "button":
        index = button_value(ctx.incoming.button_data, "tz")
        zones = v.zones_for_country(country)[:MAX_ZONE_BUTTONS]
        if not index.isdigit() or int(index) >= len(zones):
            raise Invalid(USE_BUTTONS)
        ctx.data["tz"] = zones[int(index)]
        return "network"
    typed = typed_text(ctx)
    fitting = v.zones_for_abbreviation(typed, country)
    if fitting is not None:
        ctx.data[ZONE_GUESS] = {
            "abbreviation": " ".join(typed.split()).upper(),
            "zones": fitting[:MAX_ZONE_BUTTONS],
        }
        return "timezone_confirm"
    try:
        # A city's first lookup in a country reads the gazetteer (a fraction of a second):
        # beside the event loop, so that other chats are not kept waiting.
        ctx.data["tz"] = await asyncio.to_thread(v.parse_timezone, typed, country)
    except v.CityInZones as places:
        ctx.data[ZONE_GUESS] = {"city": places.city, "zones": list(places.zones)}
        return "timezone_confirm"
    return "network"


async def ask_timezone_confirm(ctx: Context) -> None:
    guess = ctx.data[ZONE_GUESS]
    zones: list[str] = guess["zones"]
    country = ctx.t.country_name(ctx.data["country"])
    choices = [Button(label=zone, data=f"tzpick:{i}") for i, zone in enumerate(zones)]
    other = ctx._("None of these")
    if "city" in guess:
        text = ctx._(
            "Places called {city} in your country ({country}) are in different time zones. "
            "Which one is yours?",
            city=guess["city"],
            country=country,
        )
    elif len(zones) == 1:
        text = ctx._(
            "In your country ({country}), {abbreviation} is {zone}. Is that your time zone?",
            abbreviation=guess["abbreviation"],
            country=country,
            zone=zones[0],
        )
        choices = [Button(label=ctx._("Yes"), data="tzpick:0")]
        other = ctx._("No, choose another")
    else:
        text = ctx._(
            "In your country ({country}), {abbreviation} can be any of these time zones. Which"
            " one is yours?",
            abbreviation=guess["abbreviation"],
            country=country,
        )
    ctx.reply(text, buttons=rows([*choices, Button(label=other, data="tzpick:no")]))


async def answer_timezone_confirm(ctx: Context) -> str:
    if ctx.incoming.kind == "text":
        # Typing a zone here is as good as typing it one question back.
        return await answer_timezone(ctx)
    choice = button_value(ctx.incoming.button_data, "tzpick")
    if choice == "no":
        return "timezone"
    zones: list[str] = ctx.data[ZONE_GUESS]["zones"]
    if not choice.isdigit() or int(choice) >= len(zones):
        raise Invalid(USE_BUTTONS)
    ctx.data["tz"] = zones[int(choice)]
    return "network"


# 5. Niches ---------------------------------------------------------------------------------


def _niche_picker(ctx: Context) -> MultiSelect:
    chosen = set(ctx.data.get("niches", []))
    return MultiSelect(
        key=NICHE_KEY,
        options=tuple(
            Option(value=key, label=ctx._(label), selected=key in chosen)
            for key, label in NICHES.items()
        ),
        placeholder=ctx._("Choose your topics"),
    )


async def ask_niches(ctx: Context, *, edit: bool = False) -> None:
    ctx.reply(
        ctx._("Which topics do you post about? Choose all that apply, then choose Done."),
        multiselect=_niche_picker(ctx),
        buttons=((Button(label=ctx._("Done"), data=NICHES_DONE),),),
        edit=edit,
    )


def _typed_niches(ctx: Context, typed: str) -> list[str]:
    labels = {ctx._(label).casefold(): key for key, label in NICHES.items()}
    labels.update({key: key for key in NICHES})
    chosen = []
    for part in typed.replace(";", ",").split(","):
        name = part.strip().casefold()
        if not name:
            continue
        if name not in labels:
            raise Invalid(N_("“{topic}” is not one of the topics."), topic=part.strip()[:40])
        chosen.append(labels[name])
    return chosen


async def answer_niches(ctx: Context) -> str | None:
    data = ctx.incoming.button_data or ""
    chosen: list[str] = list(ctx.data.get("niches", []))
    if ctx.incoming.kind == "text":
        chosen = _typed_niches(ctx, ctx.incoming.text)
    elif data == NICHES_DONE:
        if not chosen:
            raise Invalid(N_("Choose at least one topic."))
        return "payout_method"
    else:
        chosen = picked_topics(NICHE_KEY, data, chosen)
    ctx.data["niches"] = [key for key in NICHES if key in chosen]
    await ask_niches(ctx, edit=True)
    return None


# 6. Payout ---------------------------------------------------------------------------------


async def ask_payout_method(ctx: Context) -> None:
    buttons = [
        Button(label=ctx._(label), data=f"pay:{key}") for key, label in PAYOUT_METHODS.items()
    ]
    ctx.reply(ctx._("How would you like to be paid?"), buttons=rows(buttons))


async def answer_payout_method(ctx: Context) -> str:
    method = button_value(ctx.incoming.button_data, "pay")
    if method not in PAYOUT_METHODS:
        raise Invalid(USE_BUTTONS)
    ctx.data["payout_method"] = method
    return "payout_details"


async def ask_payout_details(ctx: Context) -> None:
    if ctx.data["payout_method"] == "paypal":
        ctx.reply(ctx._("Type the email address of your PayPal account."))
    else:
        ctx.reply(ctx._("Type your IBAN. Spaces are fine."))


async def answer_payout_details(ctx: Context) -> str:
    sealer = ctx.services.sealer
    method = ctx.data["payout_method"]
    if method == "paypal":
        email = v.parse_paypal_email(typed_text(ctx))
        plain, masked = email, v.mask_email(email)
    else:
        iban = v.parse_iban(typed_text(ctx))
        plain, masked = iban, v.mask_iban(iban)
    payout = SealedPayout(
        method=method,
        sealed=sealer.seal(plain),
        masked=masked,
        fingerprint=sealer.payout_fingerprint(method, plain),
    )
    ctx.data["payout"] = payout.model_dump()
    return "consent"


# 7. Consent --------------------------------------------------------------------------------


async def ask_consent(ctx: Context) -> None:
    buttons = (
        Button(label=ctx._("I agree"), data="consent:yes"),
        Button(label=ctx._("I do not agree"), data="consent:no"),
    )
    ctx.reply(ctx._(CONSENT_TEXT, version=CONSENT_VERSION), buttons=(buttons,))


async def answer_consent(ctx: Context) -> str | None:
    if button_value(ctx.incoming.button_data, "consent") != "yes":
        ctx.reply(
            ctx._(
                "We can only work with you once you agree to these terms. Choose “I agree” when "
                "you are ready, or send /cancel to stop."
            )
        )
        await ask_consent(ctx)
        return None
    ctx.data["consent_version"] = CONSENT_VERSION
    ctx.data["consent_at"] = utcnow().isoformat()
    return "review"


# 8. Review ---------------------------------------------------------------------------------

SAVED: Final = "_saved"
# What a complete draft holds, and the field that collects each part.
REQUIRED: Final = {
    "lang": "language",
    "name": "name",
    "country": "country",
    "tz": "timezone",
    "socials": "socials",
    "niches": "niches",
    "payout": "payout",
}


async def ask_review(ctx: Context) -> None:
    edits = [
        Button(label=ctx._("Edit: {field}", field=ctx._(label)), data=f"edit:{field}")
        for field, label in FIELD_LABELS.items()
    ]
    if is_edit(ctx):
        intro, final = ctx._("Your profile:"), Button(label=ctx._("Done"), data="review:done")
    else:
        intro = ctx._("Please check your answers:")
        final = Button(label=ctx._("Confirm and apply"), data="review:confirm")
    text = f"{intro}\n\n{profile_card(ctx.t, ctx.data)}"
    ctx.reply(text, buttons=(*rows(edits), (final,)))


async def answer_review(ctx: Context) -> str | None:
    if ctx.incoming.kind != "button":
        raise Invalid(USE_BUTTONS)
    data = ctx.incoming.button_data or ""
    if data.startswith("edit:"):
        field = button_value(data, "edit")
        if field not in FIELD_GROUPS:
            raise Invalid(USE_BUTTONS)
        return profile_flow.open_edit(ctx, field)
    action = button_value(data, "review")
    if action == "confirm" and not is_edit(ctx):
        if ctx.person is not None:
            # Stored already (a repeated press, or a failure after the commit): say so again.
            tell_outcome(ctx, ctx.person)
        else:
            missing = next((REQUIRED[key] for key in REQUIRED if not ctx.data.get(key)), None)
            if missing is not None:
                return FIELD_GROUPS[missing][0]
            await submit(ctx, _profile_from(ctx.data))
        ctx.finish()
        return None
    if action == "done" and is_edit(ctx):
        ctx.reply(ctx._("Your profile is saved. Send /profile to see it."))
        ctx.finish()
        return None
    raise Invalid(USE_BUTTONS)


def _profile_from(data: dict[str, Any]) -> Profile:
    return Profile(
        display_name=data["name"],
        language=data["lang"],
        country=data["country"],
        timezone=data["tz"],
        socials=tuple(SocialClaim(**social) for social in data["socials"]),
        niches=tuple(data["niches"]),
        payout=SealedPayout(**data["payout"]),
        consent_version=data["consent_version"],
        consent_at=datetime.fromisoformat(data["consent_at"]),
    )


class ProfileFlow(ReviewedFlow):
    """Signup and /edit are one flow, and an edit of a member's profile saves each finished
    field."""

    async def field_done(self, ctx: Context, field: str) -> None:
        if is_edit(ctx):
            await save_field(ctx, field)
            ctx.data.setdefault(SAVED, []).append(field)

    async def revisit(self, ctx: Context, step: str) -> None:
        assert ctx.conversation is not None
        if step == "followers" and ctx.conversation.step == "more_socials":
            # Asking for the count again needs the account it was for.
            last = draft_socials(ctx).pop()
            ctx.data["pending_network"], ctx.data["pending_handle"] = (
                last["network"],
                last["handle"],
            )
        await self.go(ctx, step)


profile_flow = ProfileFlow(
    FLOW,
    field_groups=FIELD_GROUPS,
    steps=[
        Step("language", ask_language, answer_language),
        Step("name", ask_name, answer_name),
        Step("country", ask_country, answer_country),
        Step("timezone", ask_timezone, answer_timezone),
        Step("timezone_confirm", ask_timezone_confirm, answer_timezone_confirm),
        Step("network", ask_network, answer_network),
        Step("handle", ask_handle, answer_handle),
        Step("followers", ask_followers, answer_followers),
        Step("more_socials", ask_more_socials, answer_more_socials),
        Step("account", ask_account, answer_account),
        Step("account_handle", ask_account_handle, answer_account_handle),
        Step("account_followers", ask_account_followers, answer_account_followers),
        Step("niches", ask_niches, answer_niches),
        Step("payout_method", ask_payout_method, answer_payout_method),
        Step("payout_details", ask_payout_details, answer_payout_details),
        Step("consent", ask_consent, answer_consent),
        Step("review", ask_review, answer_review),
    ],
    button_prefixes=(
        "lang",
        "name",
        "country",
        "tz",
        "tzpick",
        "net",
        "more",
        COUNT_PREFIX,
        AccountButton.prefix,
        NICHE_KEY,
        "pay",
        "consent",
        "edit",
        "review",
    ),
)
