"""``kolbot campaign``: campaigns in bulk from files, their status changes and figures.

A campaign file is TOML with the fields /newcampaign asks for (README, "Campaign files"),
checked by the same validators, so a file and a chat conversation accept the same campaigns.
The command line acts for every agency and is audited as ``cli``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tomllib
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final

from bot import codes_cli
from bot.i18n import translator
from bot.operator_cli import in_utc_and_here, plain
from bot.services import campaigns as service
from bot.services.access import CLI, audit
from bot.services.campaigns import Report
from bot.settings import Settings
from handlers.catalog import NICHES
from handlers.validators import campaign as fields
from handlers.validators import geo, numbers
from handlers.validators import text as texts
from handlers.validators.errors import Invalid
from handlers.validators.geo import parse_timezone
from storage.base import Store
from storage.clock import utcnow
from storage.models import NewCampaign, SubmittedPost
from storage.sqlite import SqliteStore

# Exit statuses: a change that could not be made, and a file or argument that is invalid.
NOT_DONE: Final = 1
INVALID: Final = 2
REQUIRED: Final = ("brand", "title", "brief", "commission", "slots", "deadline", "landing_url")
OPTIONAL: Final = ("countries", "niches", "min_followers", "timezone")
BAR_WIDTH: Final = 30
# Posts listed by ``status``, the latest first; the figures count them all.
POSTS_SHOWN: Final = 100
EN: Final = translator("en")
# The validators word their problems for a chat ("Please send some text."); a file is written,
# not answered, so where the chat's words ask for a message, the file has its own.
FILE_WORDING: Final = {
    texts.EMPTY: "must be a non-empty string",
    texts.TOO_LONG: "is too long: at most {max} characters",
    texts.INVISIBLE: "holds invisible formatting characters: remove them",
    fields.COMMISSION_FORMAT: 'must be a percentage such as "{percent}" or an amount with its '
    'currency such as "{amount}"',
    fields.NO_COUNTRIES: 'must name at least one country, or be "all"',
    fields.COUNTRY_IN_LIST: "no country is called “{typed}”: write its name or its two-letter "
    'code, such as "DE"',
    fields.COUNTRY_GUESS_IN_LIST: "no country is called “{typed}”: did you mean {country}?",
    fields.NO_NICHES: 'must name at least one topic, or be "all"',
    fields.UNKNOWN_NICHE: "“{topic}” is not one of the topics ({topics})",
    fields.SLOTS_FORMAT: "must be a whole number, such as 50",
    fields.DEADLINE_FORMAT: 'must be a TOML date or date-time, or a string such as "2026-12-31 '
    '18:00" or "31.12.2026 18:00"',
    fields.URL_HTTPS: "must be an https:// link, such as https://shop.example/sale",
    fields.URL_INVALID: "is not a link kolbot can use: write a full address such as "
    "https://shop.example/sale",
    numbers.NOT_A_COUNT: 'must be a whole number of followers, such as 5000 or "12.5k"',
    numbers.AMBIGUOUS_COUNT: "“mil” can mean a thousand or a million: write {thousand} or "
    "{million}",
    geo.TIMEZONE_UNKNOWN: 'must be a time zone name, such as "Europe/Warsaw" or "UTC"',
}


def add_commands(commands: Any) -> None:
    """Add ``campaign`` to ``kolbot``'s subcommands (an argparse subparsers action)."""
    campaign = commands.add_parser(
        "campaign",
        help="create, publish, pause, resume and close campaigns; their figures",
        description="Campaigns of every agency, as their admins run them with /newcampaign "
        "and /campaigns in chat.",
    )
    sub = campaign.add_subparsers(dest="campaign_command", required=True, metavar="CMD")
    create = sub.add_parser(
        "create",
        help="create a campaign from a TOML file",
        description="Create a campaign from a TOML file (its fields are in the README). "
        "Every invalid field is named; exits 2 when any is invalid.",
    )
    create.add_argument("--agency", type=int, required=True, metavar="ID", help="agency id")
    create.add_argument("file", type=Path, metavar="FILE.toml", help="the campaign file")
    create.add_argument(
        "--publish", action="store_true", help="publish at once instead of saving a draft"
    )
    for action, text in [
        ("publish", "start matching influencers and sending offers"),
        ("pause", "hold offers not yet sent; nobody can accept meanwhile"),
        ("resume", "go on after a pause"),
        ("close", "stop for good; offers not yet accepted are withdrawn"),
    ]:
        changing = sub.add_parser(action, help=text, description=f"{text.capitalize()}.")
        changing.add_argument("id", type=int, metavar="ID", help="the campaign's id")
    listing = sub.add_parser(
        "list", help="campaigns with their figures", description="Campaigns, newest first."
    )
    listing.add_argument("--agency", type=int, metavar="ID", help="only this agency's")
    listing.add_argument("--limit", type=int, default=50, metavar="N", help="at most N")
    status = sub.add_parser(
        "status",
        help="a campaign's figures",
        description="Influencers matched; their offer cards queued (those held for their "
        "people's quiet hours counted, with until when, in UTC and here), sent, blocked and "
        "failed; answers, on a card or through the campaign's link; slots left; then the "
        "posts submitted, each with the influencer's account its link names, or 'not matched "
        "to an account' when it names none. With --watch on a terminal, a live progress bar "
        "while its offers go out (until only cards held for quiet hours are left); elsewhere "
        "one plain print.",
    )
    status.add_argument("id", type=int, metavar="ID", help="the campaign's id")
    status.add_argument("--watch", action="store_true", help="follow a broadcast live")
    status.add_argument(
        "--interval", type=float, default=1.0, metavar="S", help="seconds between refreshes"
    )
    codes_cli.add_commands(sub)


def run(args: argparse.Namespace, settings: Settings) -> int:
    parsed: NewCampaign | list[str] = []
    if args.campaign_command == "create":
        try:
            data = tomllib.loads(args.file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            parsed = [str(error)]
        else:
            parsed = parse_file(data, args.agency, utcnow())
    return asyncio.run(_run(args, settings, parsed))


async def _run(
    args: argparse.Namespace, settings: Settings, parsed: NewCampaign | list[str]
) -> int:
    command = args.campaign_command
    store = await SqliteStore.open(
        settings.database,
        timedelta(days=settings.signup_ttl_days),
        durability=settings.database_durability,
    )
    try:
        if command == "create":
            return await _create_from(store, parsed, args.file, args.agency, args.publish)
        if command == "list":
            return await _list(store, args.agency, args.limit)
        if command == "status":
            return await _status(store, args.id, args.watch, args.interval)
        if command == "codes":
            return await codes_cli.run(store, args)
        return await _change(store, args.id, command)
    finally:
        await store.close()


async def _create_from(
    store: Store, parsed: NewCampaign | list[str], path: Path, agency_id: int, publish: bool
) -> int:
    """Create what the file describes, or say what is wrong with it (audited as refused)."""
    if isinstance(parsed, NewCampaign):
        return await _create(store, parsed, publish)
    for problem in parsed:
        print(f"kolbot: {path}: {problem}", file=sys.stderr)
    fields_named = ", ".join(problem.split(":", 1)[0] for problem in parsed)
    async with store.unit_of_work() as uow:
        await audit(
            uow,
            CLI,
            "campaign.create",
            refused=True,
            agency_id=agency_id,
            detail=f"invalid file {path.name}: {fields_named}",
        )
    return INVALID


def parse_file(data: Mapping[str, Any], agency_id: int, now: datetime) -> NewCampaign | list[str]:
    """The campaign a file describes, or one ``field: problem`` line per problem."""
    problems = [f"{name}: unknown field" for name in data if name not in REQUIRED + OPTIONAL]
    problems += [f"{name}: missing" for name in REQUIRED if name not in data]
    values: dict[str, Any] = {}

    def take(name: str, parse: Callable[[Any], Any], default: Any = None) -> None:
        if name not in data:
            values[name] = default
            return
        try:
            values[name] = parse(data[name])
        except Invalid as error:
            problems.append(f"{name}: {file_problem(error)}")
        except (TypeError, AttributeError):
            problems.append(f"{name}: {type(data[name]).__name__} is not a value this field takes")

    take("brand", lambda v: fields.parse_brand(_string(v)))
    take("title", lambda v: fields.parse_title(_string(v)))
    take("brief", lambda v: fields.parse_brief(_string(v)))
    take("commission", lambda v: fields.parse_commission(_string(v)))
    take("countries", lambda v: fields.parse_countries(_strings(v), "en"), ())
    take("niches", lambda v: fields.parse_niches(_strings(v)), ())
    take("min_followers", lambda v: fields.parse_min_followers(_count(v)), 0)
    take("slots", lambda v: fields.parse_slots(_count(v)))
    take("timezone", lambda v: parse_timezone(_string(v)), "UTC")
    take("landing_url", lambda v: fields.parse_landing_url(_string(v)))
    if values.get("timezone") is not None:
        take("deadline", lambda v: fields.parse_deadline(_moment(v), values["timezone"], now))
    if problems:
        return problems
    return NewCampaign(
        agency_id=agency_id,
        brand=values["brand"],
        title=values["title"],
        brief=values["brief"],
        commission=values["commission"],
        countries=values["countries"],
        niches=values["niches"],
        min_followers=values["min_followers"],
        slots=values["slots"],
        deadline=values["deadline"],
        landing_url=values["landing_url"],
        created_by=CLI,
    )


def file_problem(error: Invalid) -> str:
    """A validator's problem as a campaign file's author reads it."""
    params = {k: EN.number(v) if type(v) is int else v for k, v in error.params.items()}
    wording = FILE_WORDING.get(error.message)
    if wording is None:
        return EN._(error.message, **params)
    return wording.format(**params, topics=", ".join(NICHES))


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def _strings(value: Any) -> str | list[str]:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise TypeError


def _count(value: Any) -> str | int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError
    return value


def _moment(value: Any) -> str | datetime:
    if isinstance(value, str | datetime):
        return value
    if isinstance(value, date):  # a TOML date: the end of that day, as "2026-12-24" is
        return datetime.combine(value, fields.END_OF_DAY)
    raise TypeError


async def _create(store: Store, campaign: NewCampaign, publish: bool) -> int:
    async with store.unit_of_work() as uow:
        agency = await uow.agencies.get(campaign.agency_id)
        if agency is None:
            await audit(uow, CLI, "campaign.create", refused=True, detail="no such agency")
            print(f"kolbot: there is no agency {campaign.agency_id}", file=sys.stderr)
            return INVALID
        created = await service.create(uow, campaign, CLI, publish=publish)
    if created.status == "publishing":
        print(
            f"campaign {created.id} created and publishing: kolbot campaign status "
            f"{created.id} --watch follows it"
        )
    else:
        print(
            f"campaign {created.id} created as a draft: kolbot campaign publish "
            f"{created.id} publishes it"
        )
    return 0


async def _change(store: Store, campaign_id: int, action: service.Action) -> int:
    async with store.unit_of_work() as uow:
        before = await uow.campaigns.get(campaign_id)
        change = await service.apply(uow, campaign_id, action, CLI, agency_id=None)
    if change.outcome == "done" and before is not None and change.campaign is not None:
        print(f"campaign {campaign_id}: {before.status} -> {change.campaign.status}")
        return 0
    if change.outcome == "unknown":
        print(f"kolbot: there is no campaign {campaign_id}", file=sys.stderr)
    elif change.outcome == "past_deadline":
        print(f"kolbot: campaign {campaign_id}'s deadline has passed", file=sys.stderr)
    else:
        status = change.campaign.status if change.campaign else "gone"
        print(f"kolbot: campaign {campaign_id} is {status}: it cannot {action}", file=sys.stderr)
    return NOT_DONE


async def _list(store: Store, agency_id: int | None, limit: int) -> int:
    # Figures are read on a snapshot: the bot on the same file goes on writing meanwhile.
    async with store.reading() as uow:
        listed = await service.reports(uow, agency_id, max(limit, 0))
    async with store.unit_of_work() as uow:
        await audit(uow, CLI, "campaign.list", agency_id=agency_id, detail=f"{len(listed)} shown")
    if not listed:
        print("no campaigns yet: kolbot campaign create --agency ID FILE.toml")
        return 0
    print(
        f"{'id':>5} {'agency':>6}  {'status':<10} {'slots':>11}  {'deadline (UTC)':<16} "
        f"{'matched':>8} {'sent':>8} {'accepted':>8}  brand: title"
    )
    for each in listed:
        c, f = each.campaign, each.figures
        print(
            f"{c.id:>5} {c.agency_id:>6}  {c.status:<10} {f'{c.slots_left}/{c.slots}':>11}  "
            f"{c.deadline:%Y-%m-%d %H:%M} {f.matched:>8} {f.sent:>8} {f.accepted:>8}  "
            f"{plain(c.brand)}: {plain(c.title)}"
        )
    return 0


def quiet_held(rows: int, first: datetime, last: datetime) -> str:
    """How many wait for the end of their people's quiet hours, and until when (in UTC and
    the terminal's zone): what an evening's test sees instead of a card."""
    if first == last:
        return f"{rows} held for their people's quiet hours, until {in_utc_and_here(first)}"
    return (
        f"{rows} held for their people's quiet hours, the first until "
        f"{in_utc_and_here(first)}, the last until {in_utc_and_here(last)}"
    )


def figures_text(found: Report) -> str:
    """The figures, each saying what it counts: cards are private messages, answers come on
    a card or through the campaign's link (so more can accept than cards went)."""
    c, f = found.campaign, found.figures
    lines = [
        f"campaign {c.id}: {plain(c.brand)}: {plain(c.title)} ({c.status})",
        f"influencers matched {f.matched}",
        f"offer cards by private message: queued {f.queued}  sent {f.sent}  "
        f"blocked {f.blocked} (chat unreachable)  failed {f.failed}",
    ]
    if f.quiet and f.quiet_from and f.quiet_until:
        lines.append(f"  of the queued, {quiet_held(f.quiet, f.quiet_from, f.quiet_until)}")
    if f.without_card:
        lines.append(
            f"  no card for {f.without_card} of those matched: on a daily digest or with offers "
            "off, offered through the campaign's link, or withdrawn before it went"
        )
    lines.append(
        f"answers, on a card or through the campaign's link: accepted {f.accepted}  "
        f"declined {f.declined}  posts submitted {f.submitted}  "
        f"slots left {f.slots_left} of {c.slots}"
    )
    return "\n".join(lines)


def posts_text(found: Report, posts: list[SubmittedPost]) -> str:
    """The submitted posts, each with the account of the influencer's its link names."""
    lines = [f"posts ({found.figures.unmatched} not matched to an account), latest first:"]
    for post in posts:
        account = f"@{post.content_handle}" if post.content_handle else "not matched to an account"
        lines.append(
            f"  offer {post.offer_id}  {post.submitted_at:%Y-%m-%d %H:%M} UTC  "
            f"{plain(post.display_name)}: {plain(post.content_url)}  {account}"
        )
    more = found.figures.submitted - len(posts)
    if more > 0:
        lines.append(f"  ... and {more} earlier")
    return "\n".join(lines)


def progress_line(found: Report) -> str:
    """One line, redrawn in place: how many of the matched offers went out."""
    c, f = found.campaign, found.figures
    total = max(f.matched, c.audience or 0)
    # Done: the card went or was refused, or none is to go.
    done = f.sent + f.blocked + f.failed + f.without_card
    if total == 0:
        return f"campaign {c.id} {c.status}: matching influencers..."
    share = min(done / total, 1.0)
    filled = round(share * BAR_WIDTH)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    held = f" ({f.quiet} held for quiet hours)" if f.quiet else ""
    return (
        f"[{bar}] {share:4.0%} {done}/{total}  sent {f.sent} blocked {f.blocked} "
        f"failed {f.failed} queued {f.queued}{held}  accepted {f.accepted} ({c.status})"
    )


async def _status(store: Store, campaign_id: int, watch: bool, interval: float) -> int:
    async with store.reading() as uow:
        found = await service.report(uow, campaign_id)
    async with store.unit_of_work() as uow:
        await audit(
            uow,
            CLI,
            "campaign.status",
            refused=found is None,
            target=service.campaign_target(campaign_id),
            agency_id=found.campaign.agency_id if found else None,
            detail="" if found else "no such campaign",
        )
    if found is None:
        print(f"kolbot: there is no campaign {campaign_id}", file=sys.stderr)
        return NOT_DONE
    out = sys.stdout
    if watch and out.isatty():
        found = await _watch(store, campaign_id, found, out, max(interval, 0.05))
    async with store.reading() as uow:
        posts = await uow.offers.posts(campaign_id, POSTS_SHOWN)
    print(figures_text(found))
    if posts:
        print(posts_text(found, posts))
    return 0


async def _watch(
    store: Store, campaign_id: int, found: Report, out: IO[str], interval: float
) -> Report:
    """Redraw the progress line until the broadcast is over."""
    while True:
        out.write("\r\x1b[2K" + progress_line(found))
        out.flush()
        if not found.broadcasting:
            break
        await asyncio.sleep(interval)
        async with store.reading() as uow:
            latest = await service.report(uow, campaign_id)
        if latest is None:
            break
        found = latest
    out.write("\n")
    return found
