"""People walking the first steps of signup as people do: each answers the latest question
once it has arrived, and no sooner.

A signup here is /start, then English, then a typed name, then a country: four actions, each
answered by one question (the first also by the welcome). Texts are matched by their English
beginnings; steps and answers in the ``conversations`` table by the profile flow's names.
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.reliability.harness import Conversation

WELCOME: Final = "Welcome! I will sign you up"
ASK_LANGUAGE: Final = "Choose your language:"
ASK_NAME: Final = "What name should brands see?"
ASK_COUNTRY: Final = "Which country do you live in?"
ASK_ZONE: Final = "Which time zone are you in?"
# The question each action is answered with; action i leaves the conversation at STEPS[i].
QUESTIONS: Final = (ASK_LANGUAGE, ASK_NAME, ASK_COUNTRY, ASK_ZONE)
STEPS: Final = ("language", "name", "country", "timezone")
# What each step's answer is stored as in the conversation data, once given.
ANSWERS: Final = ("lang", "name", "country")
EXPECTED: Final = (WELCOME, *QUESTIONS)
# Germany keeps two zones (Berlin, Busingen), so its zone is asked: the fourth question.
COUNTRY: Final = "DE"


def name_of(user_id: int) -> str:
    return f"Tester {user_id}"


def kind(text: str) -> str | None:
    """Which expected message ``text`` is, or None."""
    return next((expected for expected in EXPECTED if text.startswith(expected)), None)


@dataclass
class Signup:
    user_id: int
    pushed: list[int] = field(default_factory=list)  # update ids of the actions taken
    asked: set[int] = field(default_factory=set)  # indexes of the questions received
    welcomed: bool = False

    @property
    def last_asked(self) -> int:
        return max(self.asked, default=-1)


class Signups:
    """``users`` signing up through the first ``steps`` actions against ``server``.

    Each person takes the next action the moment the question answering their last one
    arrives (a listener on the fake), so progress needs no polling and survives restarts:
    what a person has not been asked yet, they do not answer. With ``auto`` off they act only
    when told (``act``), for tests that choose the moment.
    """

    def __init__(
        self, server: FakeTelegram, users: Iterable[int], *, steps: int = 4, auto: bool = True
    ) -> None:
        if not 1 <= steps <= len(QUESTIONS):
            raise ValueError(f"steps must be 1..{len(QUESTIONS)}, not {steps}")
        self.server = server
        self.steps = steps
        self.auto = auto
        self.people = {user_id: Signup(user_id) for user_id in users}
        for user_id in self.people:
            server.add_user(user_id, f"Tester{user_id}", language_code="en")
        self.accepted = 0  # messages the fake accepted for these people
        self.last_accepted_at = 0.0
        self.done = 0  # people who got the last question
        self.welcomed = 0  # people who got the welcome
        server.on_message(self._on_message)

    # Acting --------------------------------------------------------------------------------

    def begin(self) -> None:
        for signup in self.people.values():
            self._act(signup)

    def act(self) -> None:
        """Everyone who has not begun, or has been asked the question answering their last
        action, takes the next one."""
        for signup in self.people.values():
            taken = len(signup.pushed)
            if taken < self.steps and (taken == 0 or taken - 1 in signup.asked):
                self._act(signup)

    def asked_everyone(self, index: int) -> bool:
        """Everyone has received QUESTIONS[index]."""
        return all(index in signup.asked for signup in self.people.values())

    def _act(self, signup: Signup) -> None:
        index = len(signup.pushed)
        user_id = signup.user_id
        if index == 0:
            update_id = self.server.say(user_id, user_id, "/start")
        elif index == 1:
            update_id = self.server.press(user_id, user_id, data="lang:en")
        elif index == 2:
            update_id = self.server.say(user_id, user_id, name_of(user_id))
        else:
            update_id = self.server.say(user_id, user_id, COUNTRY)
        signup.pushed.append(update_id)

    def _on_message(self, sent: SentMessage) -> None:
        signup = self.people.get(sent.chat_id)
        if signup is None:
            return
        self.accepted += 1
        self.last_accepted_at = time.monotonic()
        if not signup.welcomed and sent.text.startswith(WELCOME):
            signup.welcomed = True
            self.welcomed += 1
        index = next((i for i, q in enumerate(QUESTIONS) if sent.text.startswith(q)), None)
        if index is None or index in signup.asked:
            return
        signup.asked.add(index)
        if index == self.steps - 1:
            self.done += 1
        if self.auto and index == len(signup.pushed) - 1 and len(signup.pushed) < self.steps:
            self._act(signup)

    # Reading -------------------------------------------------------------------------------

    def finished(self) -> bool:
        """Everyone took every action and got its answers, the welcome too."""
        return self.done == len(self.people) == self.welcomed

    def lagging(self) -> str:
        waiting = Counter(
            QUESTIONS[len(s.pushed) - 1] if s.pushed else "to begin"
            for s in self.people.values()
            if self.steps - 1 not in s.asked
        )
        waiting[WELCOME] = len(self.people) - self.welcomed
        listed = ", ".join(f"{n} for {what!r}" for what, n in waiting.most_common() if n)
        return f"every signup to finish; still waiting: {listed or 'nobody'}"

    @property
    def last_update(self) -> int:
        return max(update for s in self.people.values() for update in s.pushed)

    def unexpected(self) -> list[str]:
        """Messages none of the steps asks for: an update handled twice shows here (a second
        /start is welcomed back, a name handled again is not a country), as does an apology."""
        return [
            f"chat {m.chat_id}: {m.text[:80]!r}"
            for chat in self.people
            for m in self.server.messages(chat)
            if kind(m.text) is None
        ]

    def missing(self) -> list[str]:
        """Expected messages (for the actions taken) that never arrived."""
        found = []
        for chat, signup in self.people.items():
            texts = {kind(m.text) for m in self.server.messages(chat)}
            wanted = [WELCOME, *QUESTIONS[: len(signup.pushed)]] if signup.pushed else []
            found += [f"chat {chat}: {w!r}" for w in wanted if w not in texts]
        return found

    def duplicates_by_run(self, launches: list[float]) -> Counter[int]:
        """Copies beyond the first of each expected message, counted against the run (index
        into ``launches``) that sent the copy before: the run that had it in flight."""
        counts: Counter[int] = Counter()
        for chat in self.people:
            by_kind: dict[str, list[float]] = {}
            for message in self.server.messages(chat):
                expected = kind(message.text)
                if expected is not None:
                    by_kind.setdefault(expected, []).append(message.sent_at)
            for times in by_kind.values():
                times.sort()
                for previous in times[:-1]:
                    counts[bisect.bisect_right(launches, previous) - 1] += 1
        return counts

    def check(self, conversations: dict[int, Conversation]) -> list[str]:
        """Every conversation is at the step its stored answers say, no earlier than the last
        question the person received (a reply goes out only after its state is stored) and
        no later than the answers the person gave."""
        problems = []
        for user_id, signup in self.people.items():
            row = conversations.get(user_id)
            asked = signup.last_asked
            if row is None:
                if asked >= 0:
                    problems.append(f"{user_id}: asked {QUESTIONS[asked]!r}, no conversation")
                continue
            if row.flow != "profile" or row.step not in STEPS:
                problems.append(f"{user_id}: in {row.flow}/{row.step}, not a signup step")
                continue
            step = STEPS.index(row.step)
            if step < asked:
                problems.append(
                    f"{user_id}: at {row.step}, yet already asked {QUESTIONS[asked]!r}"
                )
            if step > len(signup.pushed) - 1:
                problems.append(f"{user_id}: at {row.step} after {len(signup.pushed)} actions")
            wanted = ("en", name_of(user_id), COUNTRY)
            for index, key in enumerate(ANSWERS):
                value = row.data.get(key)
                if index < step and value != wanted[index]:
                    problems.append(f"{user_id}: at {row.step} with {key}={value!r}")
                if index >= step and value is not None:
                    problems.append(f"{user_id}: at {row.step}, yet {key}={value!r} is stored")
        return problems
