"""A complete signup as a script, so tests can stop anywhere and check what was stored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tests.fakes.platform import Person


@dataclass(frozen=True)
class Answers:
    language: str = "en"
    name: str = "Anna"
    country: str = "DE"
    network: str = "instagram"
    handle: str = "anna.insta"
    followers: str = "12k"
    niches: tuple[str, ...] = ("fashion", "tech")
    payout_method: str = "paypal"
    payout: str = "anna@example.com"


async def _pick_niches(person: Person, niches: tuple[str, ...]) -> None:
    for niche in niches:
        await person.press_data(f"niche~{niche}")
    await person.press_data("niche:done")


async def _first_zone(person: Person) -> None:
    """A country of one zone is not asked for it: the network question comes straight on."""
    if any(button.data == "tz:0" for button in person.buttons()):
        await person.press_data("tz:0")


async def sign_up(
    person: Person,
    answers: Answers = Answers(),
    *,
    until: str | None = None,
    resume_at: str = "start",
) -> None:
    """Answer each step from ``resume_at`` on; ``until`` stops before answering that step."""
    a = answers
    steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("start", lambda: person.say("/start")),
        ("language", lambda: person.press_data(f"lang:{a.language}")),
        ("name", lambda: person.say(a.name)),
        ("country", lambda: person.say(a.country)),
        ("timezone", lambda: _first_zone(person)),
        ("network", lambda: person.press_data(f"net:{a.network}")),
        ("handle", lambda: person.say(a.handle)),
        ("followers", lambda: person.say(a.followers)),
        ("more_socials", lambda: person.press_data("more:done")),
        ("niches", lambda: _pick_niches(person, a.niches)),
        ("payout_method", lambda: person.press_data(f"pay:{a.payout_method}")),
        ("payout_details", lambda: person.say(a.payout)),
        ("consent", lambda: person.press_data("consent:yes")),
        ("review", lambda: person.press_data("review:confirm")),
    ]
    names = [name for name, _ in steps]
    for name, action in steps[names.index(resume_at) :]:
        if name == until:
            return
        await action()
