"""The delivery policy: wait as told, mark the unreachable, retry the transient, give up."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.core.delivery import Deliverer
from bot.core.messages import ChatRef, Outgoing
from bot.core.platform import BadRequest, RateLimited, Transient, Unreachable
from tests.fakes.platform import FakePlatform, Person
from tests.integration.signup import sign_up

MESSAGE = Outgoing(chat=ChatRef(platform="fake", chat_id="1"), text="hello")


class Clock:
    def __init__(self) -> None:
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


async def test_rate_limit_waits_exactly_as_told_then_sends(app: App) -> None:
    clock, fake = Clock(), FakePlatform()
    fake.failures = [RateLimited(3.5), RateLimited(1.0)]
    deliverer = Deliverer(app.services.people, sleep=clock.sleep)
    assert await deliverer.deliver(fake, MESSAGE) == "1"
    assert clock.slept == [3.5, 1.0]
    assert fake.sent == [MESSAGE]


async def test_transient_failures_back_off_then_give_up(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    clock, fake = Clock(), FakePlatform()
    fake.failures = [Transient("502")] * 5
    deliverer = Deliverer(app.services.people, sleep=clock.sleep, max_attempts=5)
    assert await deliverer.deliver(fake, MESSAGE) is None
    assert clock.slept == [1.0, 2.0, 4.0, 8.0]
    assert "giving up" in caplog.text
    assert fake.sent == []


async def test_transient_failure_then_success(app: App) -> None:
    clock, fake = Clock(), FakePlatform()
    fake.failures = [Transient("timeout")]
    deliverer = Deliverer(app.services.people, sleep=clock.sleep)
    assert await deliverer.deliver(fake, MESSAGE) == "1"
    assert clock.slept == [1.0]


async def test_bad_request_is_not_retried(app: App) -> None:
    clock, fake = Clock(), FakePlatform()
    fake.failures = [BadRequest("chat not found")]
    deliverer = Deliverer(app.services.people, sleep=clock.sleep)
    assert await deliverer.deliver(fake, MESSAGE) is None
    assert clock.slept == []


async def test_unreachable_marks_the_account_until_they_write(
    app: App, platform: FakePlatform
) -> None:
    person = Person(platform)
    await sign_up(person)
    platform.failures = [Unreachable("blocked")]
    deliverer = Deliverer(app.services.people)
    assert await deliverer.deliver(platform, MESSAGE) is None
    account = await app.services.people.account("fake", "1")
    assert account is not None
    assert not account.reachable

    await person.say("/profile")
    account = await app.services.people.account("fake", "1")
    assert account is not None
    assert account.reachable


async def test_the_rest_of_a_batch_waits_once_the_chat_is_unreachable(app: App) -> None:
    fake = FakePlatform()
    fake.failures = [Unreachable("blocked")]
    second = MESSAGE.model_copy(update={"text": "second"})
    await Deliverer(app.services.people).deliver_all(fake, [MESSAGE, second])
    assert fake.sent == []


async def test_an_adapter_bug_does_not_stop_the_batch(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(FakePlatform):
        async def send(self, message: Outgoing) -> str:
            if message.text == "hello":
                raise KeyError("adapter bug")
            return await super().send(message)

    fake = Broken()
    second = MESSAGE.model_copy(update={"text": "second"})
    await Deliverer(app.services.people).deliver_all(fake, [MESSAGE, second])
    assert [m.text for m in fake.sent] == ["second"]
    assert "adapter bug" in caplog.text
