"""``kolbot campaign codes import|export``: the promo codes a shop issued for a campaign.

Imported codes are handed out in import order as influencers accept; once they run out, an
acceptance gets a code kolbot makes up. The export lists both, with who holds each, so the
shop can load the codes and pay the right people.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path
from typing import Any, Final

from bot.operator_cli import plain
from bot.services.access import CLI, audit
from storage.base import Store, UnitOfWork

# Exit statuses, as ``kolbot campaign`` has them.
NOT_DONE: Final = 1
INVALID: Final = 2
# What shops accept as a code, give or take: letters, digits, dashes and underscores.
CODE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{2,31}")
COLUMNS: Final = ("code", "source", "status", "offer", "person", "name", "ref")
# A cell starting with one of these runs as a formula when a spreadsheet opens the file.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def add_commands(campaign_commands: Any) -> None:
    """Add ``codes`` to ``kolbot campaign``'s subcommands."""
    codes = campaign_commands.add_parser(
        "codes",
        help="import a shop's promo codes, export who holds them",
        description="Promo codes for a campaign: imported ones are handed out first, in "
        "order, as influencers accept; then kolbot makes codes up.",
    )
    sub = codes.add_subparsers(dest="codes_command", required=True, metavar="CMD")
    importing = sub.add_parser(
        "import",
        help="add codes from a file, one per line",
        description="Add promo codes from FILE, one per line (blank lines are skipped). Codes "
        "are 3 to 32 letters, digits, dashes or underscores; when any line is not one, "
        "nothing is imported and the command exits 2. Codes repeated in the file or imported "
        "before are reported and skipped.",
    )
    importing.add_argument("id", type=int, metavar="ID", help="the campaign's id")
    importing.add_argument("file", type=Path, metavar="FILE", help="one code per line")
    exporting = sub.add_parser(
        "export",
        help="every code with who holds it, as CSV",
        description="Every code of the campaign as CSV on standard output: code, source "
        "(imported or made up), status (free, offered, accepted, submitted, ...), offer id, "
        "person id, name and the tracking ref of whoever holds it.",
    )
    exporting.add_argument("id", type=int, metavar="ID", help="the campaign's id")


def as_text(value: str) -> str:
    """A value someone chose (a name), kept text in a spreadsheet: a leading quote."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def read_codes(text: str) -> tuple[list[str], list[str], list[str]]:
    """(codes in file order, repeats, problems) of a file's text; one problem per bad line."""
    codes: list[str] = []
    seen: dict[str, int] = {}
    repeats: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.strip()
        if not code:
            continue
        if not CODE.fullmatch(code):
            problems.append(f"line {number}: {plain(code)[:40]!r} is not a promo code")
        elif code in seen:
            repeats.append(f"line {number}: {code} repeats line {seen[code]}")
        else:
            seen[code] = number
            codes.append(code)
    return codes, repeats, problems


async def run(store: Store, args: argparse.Namespace) -> int:
    if args.codes_command == "import":
        try:
            text = args.file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            print(f"kolbot: {args.file}: {error}", file=sys.stderr)
            return INVALID
        codes, repeats, problems = read_codes(text)
        for problem in problems:
            print(f"kolbot: {args.file}: {problem}", file=sys.stderr)
        if problems:
            return INVALID
        async with store.unit_of_work() as uow:
            return await _import(uow, args.id, codes, repeats)
    return await _export(store, args.id)


async def _import(uow: UnitOfWork, campaign_id: int, codes: list[str], repeats: list[str]) -> int:
    campaign = await uow.campaigns.get(campaign_id)
    target = f"campaign:{campaign_id}"
    if campaign is None:
        await audit(uow, CLI, "campaign.codes.import", refused=True, target=target)
        print(f"kolbot: there is no campaign {campaign_id}", file=sys.stderr)
        return NOT_DONE
    before = {code.code for code in await uow.campaigns.codes(campaign_id)}
    added = await uow.campaigns.import_codes(campaign_id, codes)
    await audit(
        uow,
        CLI,
        "campaign.codes.import",
        target=target,
        agency_id=campaign.agency_id,
        detail=f"{added} added",
    )
    for repeat in repeats:
        print(f"skipped {repeat}")
    for code in codes:
        if code in before:
            print(f"skipped {code}: imported before")
    free = sum(1 for code in await uow.campaigns.codes(campaign_id) if code.offer_id is None)
    print(f"imported {added} codes for campaign {campaign_id}; {free} not given out yet")
    if free < campaign.slots_left:
        print(
            f"{campaign.slots_left} slots are left: once the free codes run out, kolbot makes "
            "codes up for those who accept (kolbot campaign codes export lists them)"
        )
    return 0


async def _export(store: Store, campaign_id: int) -> int:
    """Read on a snapshot (a campaign of 100,000 is as many look-ups, and the bot must go on
    writing meanwhile); only the audit row is written."""
    target = f"campaign:{campaign_id}"
    async with store.reading() as uow:
        campaign = await uow.campaigns.get(campaign_id)
        lines = await _export_lines(uow, campaign_id) if campaign is not None else []
    async with store.unit_of_work() as uow:
        if campaign is None:
            await audit(uow, CLI, "campaign.codes.export", refused=True, target=target)
        else:
            await audit(
                uow,
                CLI,
                "campaign.codes.export",
                target=target,
                agency_id=campaign.agency_id,
                detail=f"{len(lines)} codes",
            )
    if campaign is None:
        print(f"kolbot: there is no campaign {campaign_id}", file=sys.stderr)
        return NOT_DONE
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(COLUMNS)
    out.writerows(lines)
    return 0


async def _export_lines(uow: UnitOfWork, campaign_id: int) -> list[tuple[object, ...]]:
    imported = await uow.campaigns.codes(campaign_id)
    holders = {offer.id: offer for offer in await uow.offers.with_codes(campaign_id)}
    rows: list[tuple[str, str, int | None]] = [(c.code, "imported", c.offer_id) for c in imported]
    given = {c.code for c in imported}
    rows += [
        (offer.promo_code, "made up", offer.id)
        for offer in holders.values()
        if offer.promo_code is not None and offer.promo_code not in given
    ]
    lines: list[tuple[object, ...]] = []
    for code, source, offer_id in rows:
        offer = holders.get(offer_id) if offer_id is not None else None
        if offer is None:
            lines.append((code, source, "free", "", "", "", ""))
            continue
        person = await uow.people.get(offer.person_id)
        name = as_text(plain(person.display_name)) if person is not None else ""
        lines.append(
            (code, source, offer.status, offer.id, offer.person_id, name, offer.ref_code or "")
        )
    return lines
