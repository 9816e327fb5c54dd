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


async def sign_up(
    person: Person, answers: Answers = Answers(), *, until: str | None = None
) -> None:
    """Walk the onboarding; ``until`` stops before answering that step."""
    steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("start", lambda: person.say("/start")),
        ("language", lambda: person.press_data(f"lang:{answers.language}")),
        ("name", lambda: person.say(answers.name)),
        ("country", lambda: person.say(answers.country)),
        ("timezone", lambda: person.press_data("tz:0")),
        ("network", lambda: person.press_data(f"net:{answers.network}")),
        ("handle", lambda: person.say(answers.handle)),
        ("followers", lambda: person.say(answers.followers)),
        ("more_socials", lambda: person.press_data("more:done")),
    ]
    for name, action in steps:
        if name == until:
            return
        await action()
    if until == "niches":
        return
    for niche in answers.niches:
        await person.press_data(f"niche~{niche}")
    await person.press_data("niche:done")
    later: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("payout_method", lambda: person.press_data(f"pay:{answers.payout_method}")),
        ("payout_details", lambda: person.say(answers.payout)),
        ("consent", lambda: person.press_data("consent:yes")),
        ("review", lambda: person.press_data("review:confirm")),
    ]
    for name, action in later:
        if name == until:
            return
        await action()
