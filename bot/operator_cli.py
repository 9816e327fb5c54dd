"""``kolbot agency``, ``kolbot people`` and ``kolbot audit``: the programme run from a shell.

Whoever has the shell has the database, so the command line is an operator; what it does is
audited as ``cli``, the same as what operators do in chat.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from bot.services import review
from bot.services.access import CLI, audit
from bot.services.agencies import create_agency, list_agencies, set_offers_to_admins
from bot.settings import Settings
from storage.base import UnitOfWork
from storage.models import PersonStatus
from storage.sqlite import SqliteStore

COMMANDS: Final = frozenset({"agency", "people", "audit"})
STATUSES: Final = ("applicant", "approved", "rejected", "suspended")
# Exit status of a decision that was not taken (no such applicant, decided already).
NOT_DONE: Final = 1


def plain(text: str) -> str:
    """User text for a terminal: control characters (escape sequences) shown as '?'."""
    return "".join("?" if unicodedata.category(char) in ("Cc", "Cf") else char for char in text)


def add_commands(commands: Any) -> None:
    """Add the subcommands to ``kolbot``'s (an argparse subparsers action)."""
    agency = commands.add_parser(
        "agency",
        help="create and list agencies",
        description="Agencies run campaigns; their admins join with a one-time invite code.",
    )
    agency_commands = agency.add_subparsers(dest="agency_command", required=True, metavar="CMD")
    create = agency_commands.add_parser(
        "create",
        help="create an agency and print its first invite code",
        description="Create an agency; prints its id and a one-time invite code, valid 7 "
        "days: whoever sends /agency CODE to the bot in a private chat becomes its admin.",
    )
    create.add_argument("name", metavar="NAME", help="the agency's name, as admins see it")
    agency_commands.add_parser(
        "list",
        help="every agency with its admins and open invites",
        description="Every agency: id, name, number of admins, unused invite codes still "
        "valid, and whether its admins are offered its campaigns.",
    )
    change = agency_commands.add_parser(
        "set",
        help="change an agency's settings",
        description="Change an agency's settings. Its own admins are not offered its "
        "campaigns, even when they are influencers who match them, unless "
        "--offers-to-admins on says they may be. Exits 1 when there is no such agency.",
    )
    change.add_argument("id", type=int, metavar="ID", help="the agency's id (agency list)")
    change.add_argument(
        "--offers-to-admins",
        choices=("on", "off"),
        required=True,
        help="on: the agency's admins are offered its campaigns like any matching "
        "influencer; off (the default): they are left out",
    )

    people = commands.add_parser(
        "people",
        help="list, approve and reject applicants",
        description="People who signed up, and the decisions on their applications.",
    )
    people_commands = people.add_subparsers(dest="people_command", required=True, metavar="CMD")
    listing = people_commands.add_parser(
        "list",
        help="people, flagged ones first",
        description="People with open review flags first, then oldest first; the screening "
        "figures (followers in total) and the flags' reasons.",
    )
    listing.add_argument("--status", choices=STATUSES, help="only people with this status")
    listing.add_argument("--flagged", action="store_true", help="only people with open flags")
    listing.add_argument(
        "--limit", type=int, default=50, metavar="N", help="at most N people (default 50)"
    )
    approve = people_commands.add_parser(
        "approve",
        help="approve an applicant and welcome them",
        description="Approve an applicant; they get a welcome message saying what happens "
        "next, sent by the running bot. Exits 1 when there is no such applicant.",
    )
    approve.add_argument("id", type=int, metavar="ID", help="the person's id (people list)")
    reject = people_commands.add_parser(
        "reject",
        help="reject an applicant with a reason",
        description="Reject an applicant; they get the reason in their language, and the note "
        "as written. Exits 1 when there is no such applicant.",
    )
    reject.add_argument("id", type=int, metavar="ID", help="the person's id (people list)")
    reject.add_argument(
        "--reason",
        required=True,
        choices=sorted(review.REJECTION_REASONS),
        help="why, from a fixed list the applicant reads in their language",
    )
    reject.add_argument(
        "--note",
        metavar="TEXT",
        help=f"sent to the applicant as written, after the reason (at most {review.MAX_NOTE} "
        "characters)",
    )

    audit = commands.add_parser(
        "audit",
        help="the audit log",
        description="Who did what, to what and when, allowed or refused.",
    )
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="CMD")
    tail = audit_commands.add_parser(
        "tail",
        help="the latest entries, newest last",
        description="The latest entries of the audit log, newest last.",
    )
    tail.add_argument(
        "-n", "--lines", type=int, default=20, metavar="N", help="how many (default 20)"
    )
    tail.add_argument("--agency", type=int, metavar="ID", help="only this agency's entries")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one of these commands, in one unit of work; its exit status."""
    note = getattr(args, "note", None)
    if note is not None and len(note.strip()) > review.MAX_NOTE:
        print(f"kolbot: a note can be at most {review.MAX_NOTE} characters", file=sys.stderr)
        return NOT_DONE
    return asyncio.run(_in_unit_of_work(settings, functools.partial(_dispatch, args, settings)))


async def _dispatch(args: argparse.Namespace, settings: Settings, uow: UnitOfWork) -> int:
    if args.command == "agency" and args.agency_command == "create":
        return await _agency_create(uow, args.name)
    if args.command == "agency" and args.agency_command == "set":
        return await _agency_set(uow, args.id, args.offers_to_admins == "on")
    if args.command == "agency":
        return await _agency_list(uow)
    if args.command == "people" and args.people_command == "list":
        return await _people_list(uow, args.status, args.flagged, args.limit, settings)
    if args.command == "people" and args.people_command == "approve":
        return await _approve(uow, args.id)
    if args.command == "people":
        return await _reject(uow, args.id, args.reason, args.note)
    return await _audit_tail(uow, args.lines, args.agency)


async def _in_unit_of_work(
    settings: Settings, work: Callable[[UnitOfWork], Awaitable[int]]
) -> int:
    store = await SqliteStore.open(
        settings.database,
        timedelta(days=settings.signup_ttl_days),
        durability=settings.database_durability,
    )
    try:
        async with store.unit_of_work() as uow:
            return await work(uow)
    finally:
        await store.close()


async def _agency_create(uow: UnitOfWork, name: str) -> int:
    name = " ".join(name.split())
    if not name:
        print("kolbot: an agency needs a name", file=sys.stderr)
        return NOT_DONE
    agency, invite = await create_agency(uow, name, CLI)
    print(f"agency {agency.id}: {plain(agency.name)}")
    print(f"invite code: {invite.code}")
    print(
        f"It works once, until {in_utc_and_here(invite.expires_at)}: whoever sends "
        f"/agency {invite.code} to the bot in a private chat becomes an admin of the agency, "
        "and can make more codes with /invite."
    )
    return 0


def in_utc_and_here(moment: datetime) -> str:
    """A moment as the programme's records keep it (UTC) and as this machine's clock reads
    it (its TZ), when that is another."""
    utc = f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    local = moment.astimezone()
    if local.utcoffset() == timedelta(0):
        return utc
    return f"{utc} ({local:%Y-%m-%d %H:%M} {local.tzname()} here)"


async def _agency_list(uow: UnitOfWork) -> int:
    listing = await list_agencies(uow)
    await audit(uow, CLI, "agency.list", detail=f"{len(listing)} shown")
    if not listing:
        print("no agencies yet: kolbot agency create NAME")
        return 0
    header = f"{'id':>5}  {'admins':>6}  {'invites':>7}  {'created':<10}  {'offers to admins':<16}"
    print(f"{header}  name")
    for item in listing:
        agency = item.agency
        offered = "on" if agency.offers_to_admins else "off"
        print(
            f"{agency.id:>5}  {item.admins:>6}  {item.open_invites:>7}  "
            f"{agency.created_at:%Y-%m-%d}  {offered:<16}  {plain(agency.name)}"
        )
    return 0


async def _agency_set(uow: UnitOfWork, agency_id: int, allowed: bool) -> int:
    agency = await set_offers_to_admins(uow, agency_id, allowed, CLI)
    if agency is None:
        print(f"kolbot: there is no agency {agency_id}", file=sys.stderr)
        return NOT_DONE
    offered = "are offered" if allowed else "are not offered"
    print(f"agency {agency.id} ({plain(agency.name)}): its admins {offered} its campaigns")
    return 0


async def _people_list(
    uow: UnitOfWork, status: PersonStatus | None, flagged: bool, limit: int, settings: Settings
) -> int:
    people = await uow.people.find(status=status, flagged=flagged, limit=limit)
    await audit(uow, CLI, "people.list", detail=f"{len(people)} shown")
    if not people:
        print("nobody matches")
        return 0
    print(f"minimum followers: {settings.min_followers}")
    print(f"{'id':>6}  {'status':<10} {'followers':>10}  {'applied':<10}  name / flags")
    for person in people:
        print(
            f"{person.id:>6}  {person.status:<10} {person.total_followers:>10}  "
            f"{person.created_at:%Y-%m-%d}  {plain(person.display_name)}"
        )
        for reason, detail in person.flags:
            print(f"{'':>6}  flag: {reason}{f' {plain(detail)}' if detail else ''}")
    return 0


async def _approve(uow: UnitOfWork, person_id: int) -> int:
    outcome = await review.approve(uow, person_id, CLI)
    if outcome != "done":
        print(_not_done(person_id, outcome), file=sys.stderr)
        return NOT_DONE
    print(f"approved {person_id}; the running bot sends them a welcome")
    return 0


async def _reject(uow: UnitOfWork, person_id: int, reason: str, note: str | None) -> int:
    outcome = await review.reject(uow, person_id, reason, note, CLI)
    if outcome != "done":
        print(_not_done(person_id, outcome), file=sys.stderr)
        return NOT_DONE
    print(f"rejected {person_id} ({reason}); the running bot tells them why")
    return 0


def _not_done(person_id: int, outcome: str) -> str:
    if outcome == "unknown":
        return f"kolbot: there is no person {person_id}"
    return f"kolbot: person {person_id} is not an applicant (decided already): nothing changed"


async def _audit_tail(uow: UnitOfWork, lines: int, agency_id: int | None) -> int:
    entries = await uow.audit.tail(max(lines, 0), agency_id=agency_id)
    for entry in entries:
        target = entry.target or (f"person:{entry.person_id}" if entry.person_id else "")
        where = f" {target}" if target else ""
        detail = f" ({plain(entry.detail)})" if entry.detail else ""
        print(
            f"{entry.created_at:%Y-%m-%d %H:%M:%S} {entry.outcome:<7} {entry.actor} "
            f"{entry.action}{where}{detail}"
        )
    if not entries:
        print("the audit log is empty")
    return 0
