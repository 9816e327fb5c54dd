"""/settings: how a person hears of new offers, and their quiet hours.

Offers come instantly, in a daily digest at an hour they choose, or not at all; offers and
digests wait until quiet hours end (local time). Replies to what they do are never held.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from bot.core.callback import CallbackData
from bot.core.context import Context
from bot.core.messages import Button
from bot.core.router import Router
from bot.i18n import N_, NC_
from bot.services.publishing import retime_held
from handlers.access import NOT_ALLOWED, refuse
from handlers.commands import NO_PROFILE_YET, PRIVATE_ONLY
from handlers.commands import _ask_pending as ask_pending
from handlers.keyboards import Keyboard, rows
from storage import clock
from storage.models import AlertMode, AlertSettings

router = Router()

COMMAND_NAMES: Final = (NC_("command name", "settings"),)

MODE_LINES: Final = {
    "instant": N_("New offers: as soon as they come"),
    "digest": N_("New offers: in a daily digest at {hour}"),
    "off": N_("New offers: off (see them with /offers)"),
}
MODE_LABELS: Final[dict[AlertMode, str]] = {
    "instant": N_("Instantly"),
    "digest": N_("Daily digest"),
    "off": N_("Off"),
}
HOURS: Final = range(24)
NOT_CHOSEN: Final = -1


class SetMode(CallbackData, prefix="almode"):
    mode: AlertMode


class SetDigestHour(CallbackData, prefix="alhour"):
    hour: int


class SetQuiet(CallbackData, prefix="alquiet"):
    """Quiet hours in two presses: the start hour, then the end hour (-1: not chosen yet);
    the same hour for both means none."""

    start: int
    end: int


def minutes_text(minute: int) -> str:
    """``22:00``: minutes after midnight as people read them on a 24-hour clock."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _hour(hour: int) -> str:
    return minutes_text(hour * 60)


def settings_text(ctx: Context, settings: AlertSettings) -> str:
    if settings.quiet_start == settings.quiet_end:
        quiet = ctx._("Quiet hours: none")
    else:
        quiet = ctx._(
            "Quiet hours: {start} to {end}",
            start=minutes_text(settings.quiet_start),
            end=minutes_text(settings.quiet_end),
        )
    lines = [
        ctx._("Your settings (times are in your time zone, {timezone}):", timezone=_zone(ctx)),
        ctx._(MODE_LINES[settings.mode], hour=_hour(settings.digest_hour)),
        quiet,
        ctx._("Offers and digests wait until your quiet hours end; replies never do."),
    ]
    return "\n".join(lines)


def _zone(ctx: Context) -> str:
    return ctx.person.timezone if ctx.person is not None else "UTC"


def settings_buttons(ctx: Context) -> Keyboard:
    modes = tuple(
        Button(label=ctx._(label), data=SetMode(mode=mode).pack())
        for mode, label in MODE_LABELS.items()
    )
    quiet = Button(
        label=ctx._("Quiet hours"), data=SetQuiet(start=NOT_CHOSEN, end=NOT_CHOSEN).pack()
    )
    return (modes, (quiet,))


def _hour_buttons(data: Callable[[int], CallbackData]) -> Keyboard:
    """One button per hour of the day, each carrying ``data(hour)``."""
    return rows((Button(label=_hour(hour), data=data(hour).pack()) for hour in HOURS), per_row=6)


async def _settings_person(ctx: Context, action: str) -> bool:
    """A private chat with someone who has a profile; else say so."""
    if not ctx.incoming.is_private:
        ctx.reply(ctx._(PRIVATE_ONLY))
        return False
    if ctx.person is None:
        ctx.reply(ctx._(NO_PROFILE_YET))
        await ask_pending(ctx)
        return False
    return True


async def _show(ctx: Context, *, edit: bool) -> None:
    assert ctx.person is not None
    current = await ctx.uow.alerts.get(ctx.person.id)
    ctx.reply(settings_text(ctx, current), buttons=settings_buttons(ctx), edit=edit)


async def _save(ctx: Context, **changes: object) -> None:
    """Save the change, and re-time what waits for the person's quiet hours with it."""
    assert ctx.person is not None
    current = await ctx.uow.alerts.get(ctx.person.id)
    changed = current.model_copy(update=changes)
    await ctx.uow.alerts.save(changed, clock.utcnow())
    await retime_held(ctx.uow, ctx.person, current, changed)


@router.command("settings", N_("How and when offers reach you"), audience="member")
async def settings_command(ctx: Context) -> None:
    if not await _settings_person(ctx, "settings"):
        return
    await _show(ctx, edit=False)
    await ask_pending(ctx)


@router.button(SetMode)
async def set_mode(ctx: Context) -> None:
    pressed = SetMode.unpack(ctx.incoming.button_data)
    if pressed is None:
        await refuse(ctx, "settings.mode", NOT_ALLOWED, why="malformed button data")
        return
    if not await _settings_person(ctx, "settings.mode"):
        return
    if pressed.mode == "digest":
        ctx.reply(
            ctx._("At what time should the daily digest come (your time zone)?"),
            buttons=_hour_buttons(lambda hour: SetDigestHour(hour=hour)),
            edit=True,
        )
        return
    await _save(ctx, mode=pressed.mode)
    await _show(ctx, edit=True)


@router.button(SetDigestHour)
async def set_digest_hour(ctx: Context) -> None:
    pressed = SetDigestHour.unpack(ctx.incoming.button_data)
    if pressed is None or pressed.hour not in HOURS:
        await refuse(ctx, "settings.digest", NOT_ALLOWED, why="malformed button data")
        return
    if not await _settings_person(ctx, "settings.digest"):
        return
    await _save(ctx, mode="digest", digest_hour=pressed.hour)
    await _show(ctx, edit=True)


@router.button(SetQuiet)
async def set_quiet(ctx: Context) -> None:
    pressed = SetQuiet.unpack(ctx.incoming.button_data)
    valid = {NOT_CHOSEN, *HOURS}
    if pressed is None or pressed.start not in valid or pressed.end not in valid:
        await refuse(ctx, "settings.quiet", NOT_ALLOWED, why="malformed button data")
        return
    if not await _settings_person(ctx, "settings.quiet"):
        return
    if pressed.start == NOT_CHOSEN:
        none = Button(label=ctx._("No quiet hours"), data=SetQuiet(start=0, end=0).pack())
        ctx.reply(
            ctx._("When do your quiet hours start?"),
            buttons=(*_hour_buttons(lambda hour: SetQuiet(start=hour, end=NOT_CHOSEN)), (none,)),
            edit=True,
        )
        return
    if pressed.end == NOT_CHOSEN:
        ctx.reply(
            ctx._("Quiet from {start}. When do they end?", start=_hour(pressed.start)),
            buttons=_hour_buttons(lambda hour: SetQuiet(start=pressed.start, end=hour)),
            edit=True,
        )
        return
    await _save(ctx, quiet_start=pressed.start * 60, quiet_end=pressed.end * 60)
    await _show(ctx, edit=True)
