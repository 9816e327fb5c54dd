"""What a Bot API answer proves about a send: a 2xx, even one cut short, was carried out."""

from __future__ import annotations

import pytest
from telegram import error as tg

from bot.adapters.telegram.request import UnreadableAnswer, may_have_arrived, result_of
from bot.settings import Settings


def test_a_success_cut_short_was_carried_out() -> None:
    with pytest.raises(UnreadableAnswer) as raised:
        result_of(200, b'{"ok":true,"result":{"message_id":7,"chat":{"id":')
    assert may_have_arrived(raised.value)


def test_what_proves_nothing_arrived_is_not_counted_as_a_lost_answer() -> None:
    for status in (400, 403, 429, 502):
        with pytest.raises(tg.TelegramError) as raised:
            result_of(status, b'{"ok":false,"description":"no","parameters":{"retry_after":1}}')
        assert not may_have_arrived(raised.value)


def test_the_read_timeout_stays_inside_a_sends_lease() -> None:
    """A send may take twice the read timeout; its lease is five minutes."""
    Settings(_env_file=None, delivery_read_timeout_seconds=120)
    with pytest.raises(ValueError, match="delivery_read_timeout_seconds"):
        Settings(_env_file=None, delivery_read_timeout_seconds=121)
