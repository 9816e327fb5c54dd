"""Typed button data: packed and parsed by one class per prefix, clashes refused at start."""

from __future__ import annotations

import pytest

from bot.core.callback import CallbackData
from bot.core.conversation import Flow
from bot.core.router import Router
from handlers import build_router


class Offer(CallbackData, prefix="offer"):
    offer_id: int
    action: str


def test_packs_and_unpacks_with_validation() -> None:
    data = Offer(offer_id=12, action="accept").pack()
    assert data == "offer:12:accept"
    assert Offer.unpack(data) == Offer(offer_id=12, action="accept")
    # Forged or foreign data is not this button: None, never an exception.
    assert Offer.unpack("offer:abc:accept") is None
    assert Offer.unpack("offer:12") is None
    assert Offer.unpack("other:12:accept") is None
    assert Offer.unpack(None) is None


def test_data_that_would_not_fit_a_platform_is_refused() -> None:
    with pytest.raises(ValueError, match="bytes"):
        Offer(offer_id=1, action="x" * 60).pack()
    with pytest.raises(ValueError, match="cannot appear"):
        Offer(offer_id=1, action="a:b").pack()


def test_a_class_needs_a_prefix() -> None:
    with pytest.raises(TypeError, match="needs a prefix"):

        class Nameless(CallbackData):
            value: int


def test_two_routers_claiming_one_prefix_fail_at_start() -> None:
    async def one(_: object) -> None:
        return None

    async def another(_: object) -> None:
        return None

    first, second = Router(), Router()
    first.button(Offer)(one)
    second.button(Offer)(another)
    root = Router()
    root.include(first)
    with pytest.raises(ValueError, match="'offer' claimed by"):
        root.include(second)


def test_a_button_cannot_take_a_flows_prefix() -> None:
    class Pay(CallbackData, prefix="pay"):
        method: str

    async def pay(_: object) -> None:
        return None

    other = Router()
    other.button(Pay)(pay)
    with pytest.raises(ValueError, match="'pay' claimed by the profile flow"):
        build_router().include(other)
    with pytest.raises(ValueError, match="'pay' claimed by"):
        other.flow(Flow("checkout", [], button_prefixes=("pay",)))
