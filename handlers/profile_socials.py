"""The profile's social accounts: adding them one by one at signup, and changing, renaming or
removing one of them in an edit while the rest are kept."""

from __future__ import annotations

from typing import Any, Final, Literal

from bot.core.callback import CallbackData
from bot.core.context import Context
from bot.core.conversation import EDIT
from bot.core.errors import Invalid
from bot.core.messages import Button
from bot.i18n import N_
from handlers import validators as v
from handlers.cards import socials_lines
from handlers.keyboards import STALE_BUTTON, USE_BUTTONS, button_value, rows, typed_text
from handlers.profile_draft import is_edit


def draft_socials(ctx: Context) -> list[dict[str, Any]]:
    socials: list[dict[str, Any]] = ctx.data.setdefault("socials", [])
    return socials


ADDED: Final = N_("{network} (added)")


async def ask_network(ctx: Context) -> None:
    """Every network, in one order, those added already marked: a choice keeps its place
    (on the console, its number) from one account to the next."""
    added = {social["network"] for social in draft_socials(ctx)}
    labels = {
        network: ctx._(ADDED, network=label) if network in added else label
        for network, label in v.NETWORK_LABELS.items()
    }
    buttons = [Button(label=labels[network], data=f"net:{network}") for network in v.NETWORKS]
    ctx.reply(ctx._("Add a social account: which network is it on?"), buttons=rows(buttons, 3))


async def answer_network(ctx: Context) -> str:
    if ctx.incoming.kind == "button":
        network = button_value(ctx.incoming.button_data, "net")
    else:
        typed = typed_text(ctx).strip().casefold()
        labels = {label.casefold(): key for key, label in v.NETWORK_LABELS.items()}
        network = labels.get(typed, typed)
    if network not in v.NETWORKS:
        raise Invalid(USE_BUTTONS)
    if any(social["network"] == network for social in draft_socials(ctx)):
        raise Invalid(N_("You have already added an account on this network."))
    ctx.data["pending_network"] = network
    return "handle"


async def ask_handle(ctx: Context) -> None:
    network = v.NETWORK_LABELS[ctx.data["pending_network"]]
    ctx.reply(
        ctx._(
            "What is your {network} handle? You can also paste your profile link.", network=network
        )
    )


async def answer_handle(ctx: Context) -> str:
    ctx.data["pending_handle"] = v.parse_handle(ctx.data["pending_network"], typed_text(ctx))
    return "followers"


async def ask_followers(ctx: Context) -> None:
    network = v.NETWORK_LABELS[ctx.data["pending_network"]]
    ctx.reply(
        ctx._(
            "How many followers do you have on {network}? For example: 12k, 1.2M or 12 345.",
            network=network,
        )
    )


# The two counts an answer such as "12 mil" may mean, offered as buttons.
READINGS: Final = "count_readings"
COUNT_PREFIX: Final = "count"


def _follower_count(ctx: Context) -> int | None:
    """The count typed, or chosen from the readings of an ambiguous one; None when the
    readings have just been offered."""
    if ctx.incoming.kind == "button":
        chosen = button_value(ctx.incoming.button_data, COUNT_PREFIX)
        offered: list[int] = ctx.data.get(READINGS, [])
        if not chosen.isdigit() or int(chosen) not in offered:
            raise Invalid(STALE_BUTTON)
        ctx.data.pop(READINGS)
        return int(chosen)
    try:
        count = v.parse_follower_count(typed_text(ctx), ctx.language)
    except v.AmbiguousCount as ambiguous:
        ctx.data[READINGS] = list(ambiguous.readings)
        thousand, million = (ctx.t.number(reading) for reading in ambiguous.readings)
        ctx.reply(
            ctx._(
                "Do you mean {thousand} or {million} followers?",
                thousand=thousand,
                million=million,
            ),
            buttons=rows(
                Button(label=ctx.t.number(reading), data=f"{COUNT_PREFIX}:{reading}")
                for reading in ambiguous.readings
            ),
        )
        return None
    ctx.data.pop(READINGS, None)
    return count


async def answer_followers(ctx: Context) -> str | None:
    followers = _follower_count(ctx)
    if followers is None:
        return None
    draft_socials(ctx).append(
        {
            "network": ctx.data.pop("pending_network"),
            "handle": ctx.data.pop("pending_handle"),
            "followers": followers,
        }
    )
    return "more_socials"


class AccountButton(CallbackData, prefix="acct"):
    """A button about one account of the draft; there is one account per network."""

    network: str
    action: Literal["open", "handle", "followers", "remove", "keep"]


# The network of the account being changed.
ACCOUNT: Final = "open_account"


def _pressed(ctx: Context, buttons: list[Button]) -> str:
    """The data of the button pressed, or of the one whose label was typed."""
    if ctx.incoming.kind == "button" and ctx.incoming.button_data:
        return ctx.incoming.button_data
    typed = typed_text(ctx).strip().casefold()
    for button in buttons:
        if button.data is not None and button.label.casefold() == typed:
            return button.data
    raise Invalid(USE_BUTTONS)


def _account_label(social: dict[str, Any]) -> str:
    return f"{v.NETWORK_LABELS[social['network']]} @{social['handle']}"


def _hub_buttons(ctx: Context) -> list[Button]:
    """While editing, one button per account opens it; signup only adds or moves on."""
    socials = draft_socials(ctx)
    buttons = []
    if EDIT in ctx.data:
        buttons = [
            Button(
                label=_account_label(social),
                data=AccountButton(network=social["network"], action="open").pack(),
            )
            for social in socials
        ]
    if len(socials) < len(v.NETWORKS):
        buttons.append(Button(label=ctx._("Add another account"), data="more:add"))
    buttons.append(Button(label=ctx._("Continue"), data="more:done"))
    return buttons


async def ask_more_socials(ctx: Context) -> None:
    socials = draft_socials(ctx)
    lines = [ctx._("Your accounts so far:"), *socials_lines(ctx.t, socials)]
    if EDIT in ctx.data and socials:
        lines.append(
            ctx._("Choose an account to change its handle or follower count, or to remove it.")
        )
    buttons = _hub_buttons(ctx)
    opened = [b for b in buttons if AccountButton.unpack(b.data) is not None]
    moves = buttons[len(opened) :]
    ctx.reply("\n".join(lines), buttons=(*rows(opened, per_row=1), *rows(moves)))


async def answer_more_socials(ctx: Context) -> str:
    data = _pressed(ctx, _hub_buttons(ctx))
    opened = AccountButton.unpack(data)
    if opened is not None:
        if (
            EDIT not in ctx.data
            or opened.action != "open"
            or _account(ctx, opened.network) is None
        ):
            raise Invalid(STALE_BUTTON)
        ctx.data[ACCOUNT] = opened.network
        return "account"
    choice = button_value(data, "more")
    if choice == "add" and len(draft_socials(ctx)) < len(v.NETWORKS):
        return "network"
    if choice == "done":
        _check_audience(ctx)
        return "niches"
    raise Invalid(USE_BUTTONS)


def _check_audience(ctx: Context) -> None:
    """Stop a signup below the minimum here, before payout details are asked for; a member's
    edit is screened when it is saved."""
    socials = draft_socials(ctx)
    if not socials:
        raise Invalid(N_("Add at least one account."))
    minimum = ctx.services.settings.min_followers
    total = sum(social["followers"] for social in socials)
    if not is_edit(ctx) and total < minimum:
        raise Invalid(
            N_(
                "The programme needs at least {minimum} followers across your accounts, and "
                "you have {total}. Add another account if you have one, or send /cancel to stop."
            ),
            minimum=minimum,
            total=total,
        )


def _account(ctx: Context, network: str | None) -> dict[str, Any] | None:
    return next((s for s in draft_socials(ctx) if s["network"] == network), None)


async def _back_to_list(ctx: Context) -> bool:
    """After /back past a removal the account is gone: the list is the question then."""
    if _account(ctx, ctx.data.get(ACCOUNT)) is not None:
        return False
    assert ctx.conversation is not None
    ctx.conversation.step = "more_socials"
    await ask_more_socials(ctx)
    return True


def _account_buttons(ctx: Context, network: str) -> list[Button]:
    actions: list[tuple[str, Literal["handle", "followers", "remove", "keep"]]] = [
        (ctx._("Change the handle"), "handle"),
        (ctx._("Change the follower count"), "followers"),
        (ctx._("Remove this account"), "remove"),
        (ctx._("Keep it as it is"), "keep"),
    ]
    return [
        Button(label=label, data=AccountButton(network=network, action=action).pack())
        for label, action in actions
    ]


async def ask_account(ctx: Context) -> None:
    if await _back_to_list(ctx):
        return
    social = _account(ctx, ctx.data[ACCOUNT])
    assert social is not None
    text = "\n".join(
        [*socials_lines(ctx.t, [social]), ctx._("What would you like to do with this account?")]
    )
    ctx.reply(text, buttons=rows(_account_buttons(ctx, social["network"]), per_row=1))


async def answer_account(ctx: Context) -> str:
    network = ctx.data[ACCOUNT]
    pressed = AccountButton.unpack(_pressed(ctx, _account_buttons(ctx, network)))
    if pressed is None or pressed.network != network or pressed.action == "open":
        raise Invalid(STALE_BUTTON)
    social = _account(ctx, network)
    assert social is not None, "asking about an account that is gone returns to the list"
    if pressed.action == "handle":
        return "account_handle"
    if pressed.action == "followers":
        return "account_followers"
    if pressed.action == "remove":
        if len(draft_socials(ctx)) == 1:
            raise Invalid(N_("This is your only account. Add another one before you remove it."))
        draft_socials(ctx).remove(social)
    return "more_socials"


async def ask_account_handle(ctx: Context) -> None:
    """A renamed account: the only one cannot be removed, nor another added on its network."""
    if await _back_to_list(ctx):
        return
    network = v.NETWORK_LABELS[ctx.data[ACCOUNT]]
    ctx.reply(
        ctx._(
            "What is your {network} handle? You can also paste your profile link.", network=network
        )
    )


async def answer_account_handle(ctx: Context) -> str:
    social = _account(ctx, ctx.data[ACCOUNT])
    assert social is not None, "asking about an account that is gone returns to the list"
    social["handle"] = v.parse_handle(social["network"], typed_text(ctx))
    return "more_socials"


async def ask_account_followers(ctx: Context) -> None:
    if await _back_to_list(ctx):
        return
    network = v.NETWORK_LABELS[ctx.data[ACCOUNT]]
    ctx.reply(
        ctx._(
            "How many followers do you have on {network}? For example: 12k, 1.2M or 12 345.",
            network=network,
        )
    )


async def answer_account_followers(ctx: Context) -> str | None:
    followers = _follower_count(ctx)
    if followers is None:
        return None
    social = _account(ctx, ctx.data[ACCOUNT])
    assert social is not None, "asking about an account that is gone returns to the list"
    social["followers"] = followers
    return "more_socials"
