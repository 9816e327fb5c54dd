"""The adapter's pure parts: rendering an Outgoing, reading an Update, and the fake's HTML."""

from __future__ import annotations

from typing import Any

import pytest

from bot.adapters.telegram.inbound import parse_command, to_incoming
from bot.adapters.telegram.redact import redact, remember
from bot.adapters.telegram.render import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    escape,
    keyboard,
    plan,
    split_text,
    utf16_length,
)
from bot.core.messages import Button, ChatRef, Image, MultiSelect, Option, Outgoing
from tests.fakes.telegram_server import ApiError, parse_html

CHAT = ChatRef(platform="telegram", chat_id="42")


def test_escape_leaves_no_markup() -> None:
    text = 'Bo <b>&</b> <script>alert("x")</script> &amp;'
    escaped = escape(text)
    assert escaped == (
        'Bo &lt;b&gt;&amp;&lt;/b&gt; &lt;script&gt;alert("x")&lt;/script&gt; &amp;amp;'
    )
    assert parse_html(escaped) == text


def test_the_fake_parses_html_as_telegram_does() -> None:
    assert parse_html("<b>bold</b> &lt;ok&gt; &#65;&#x42;") == "bold <ok> AB"
    for bad in ("<script>x</script>", "a < b", "Tom & Jerry", "<b>open", "</i>", "&nbsp;"):
        with pytest.raises(ApiError, match="can't parse entities"):
            parse_html(bad)


def test_short_text_is_one_piece() -> None:
    assert split_text("hello\nworld") == ["hello\nworld"]
    assert split_text("  \n ") == []


def test_long_text_splits_on_line_ends() -> None:
    lines = [f"{i:03d} " + "x" * 95 for i in range(100)]  # 100 lines of 99 characters
    pieces = split_text("\n".join(lines))
    assert all(utf16_length(p) <= TEXT_LIMIT for p in pieces)
    assert len(pieces) == 3
    assert "\n".join(pieces) == "\n".join(lines)
    assert all(not p.startswith("\n") and not p.endswith("\n") for p in pieces)


def test_a_line_longer_than_a_message_splits_at_spaces_then_anywhere() -> None:
    words = " ".join(["word"] * 2000)  # 9999 characters on one line
    pieces = split_text(words)
    assert all(utf16_length(p) <= TEXT_LIMIT for p in pieces)
    assert all(p.endswith("word ") or p.endswith("word") for p in pieces)
    assert "".join(pieces) == words
    solid = "y" * 10_000
    assert [len(p) for p in split_text(solid)] == [4096, 4096, 1808]


def test_limits_count_utf16_units() -> None:
    emoji = "😀" * 3000  # 6000 UTF-16 units
    pieces = split_text(emoji)
    assert [utf16_length(p) for p in pieces] == [4096, 1904]
    assert "".join(pieces) == emoji


def test_keyboard_puts_options_then_buttons() -> None:
    picker = MultiSelect(
        key="niche",
        options=(
            Option(value="fashion", label="Fashion", selected=True),
            Option(value="tech", label="Tech"),
            Option(value="food", label="Food"),
        ),
    )
    message = Outgoing(
        chat=CHAT,
        text="Pick",
        multiselect=picker,
        buttons=(
            (Button(label="Done", data="niche:done"),),
            (Button(label="Site", url="https://example.com"),),
        ),
    )
    markup = keyboard(message)
    assert markup is not None
    rows = [
        [(b["text"], b.get("callback_data"), b.get("url")) for b in row]
        for row in markup["inline_keyboard"]
    ]
    assert rows == [
        [("✅ Fashion", "niche~fashion", None), ("Tech", "niche~tech", None)],
        [("Food", "niche~food", None)],
        [("Done", "niche:done", None)],
        [("Site", None, "https://example.com")],
    ]
    assert keyboard(Outgoing(chat=CHAT, text="no buttons")) is None


def test_rows_wider_than_telegram_allows_are_wrapped() -> None:
    row = tuple(Button(label=str(i), data=f"n:{i}") for i in range(10))
    markup = keyboard(Outgoing(chat=CHAT, text="x", buttons=(row,)))
    assert markup is not None
    assert [len(r) for r in markup["inline_keyboard"]] == [8, 2]


def test_plan_puts_the_keyboard_on_the_last_part() -> None:
    ok = ((Button(label="OK", data="ok:1"),),)
    parts = plan(Outgoing(chat=CHAT, text="a\n" * 5000, buttons=ok))
    assert [p.markup is not None for p in parts] == [False, False, True]

    image = Image(url="https://cdn.example.com/a.jpg", caption="Brand")
    [photo] = plan(Outgoing(chat=CHAT, text="short", image=image, buttons=ok))
    assert (photo.photo, photo.text, photo.markup is not None) == (image, "short", True)

    photo, text = plan(Outgoing(chat=CHAT, text="b" * (CAPTION_LIMIT + 1), image=image))
    assert (photo.photo, photo.text, text.photo, text.text) == (
        image,
        "Brand",
        None,
        "b" * (CAPTION_LIMIT + 1),
    )


def test_parse_command() -> None:
    assert parse_command("/start") == ("start", "", None)
    assert parse_command("/Start@KolBot signup  ") == ("start", "signup", "KolBot")
    assert parse_command("/help@other_bot") == ("help", "", "other_bot")
    assert parse_command("/edit name\nsecond line") == ("edit", "name\nsecond line", None)
    for text in ("hello", "/", "/ start", "/пуск", "a /start"):
        assert parse_command(text) is None


def _update(**payload: Any) -> dict[str, Any]:
    return {"update_id": 9, **payload}


def _message(chat: dict[str, Any], text: str | None = "hi", **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": 5,
        "date": 1_700_000_000,
        "chat": chat,
        "from": {"id": 7, "is_bot": False, "first_name": "Ana", "last_name": "Lis",
                 "language_code": "pl-PL"},
        **extra,
    }  # fmt: skip
    if text is not None:
        message["text"] = text
    return message


PRIVATE = {"id": 7, "type": "private", "first_name": "Ana"}
GROUP = {"id": -100123, "type": "supergroup", "title": "Creators"}


def test_private_text_and_commands() -> None:
    text = to_incoming(_update(message=_message(PRIVATE, "<b>hi</b>")), "kolbot")
    assert text is not None
    assert (text.kind, text.text, text.is_private, text.update_id) == (
        "text",
        "<b>hi</b>",
        True,
        "9",
    )
    assert (str(text.chat), str(text.user), text.user.display_name) == (
        "telegram:7",
        "telegram:7",
        "Ana Lis",
    )
    assert (text.user.language_hint, text.private_chat_url) == ("pl-PL", None)

    command = to_incoming(_update(message=_message(PRIVATE, "/start signup")), "kolbot")
    assert command is not None
    assert (command.kind, command.command, command.args) == ("command", "start", "signup")

    sticker = to_incoming(_update(message=_message(PRIVATE, None)), "kolbot")
    assert sticker is not None
    assert (sticker.kind, sticker.text) == ("text", "")


def test_group_messages_need_to_be_commands_for_this_bot() -> None:
    def read(text: str) -> Any:
        return to_incoming(_update(message=_message(GROUP, text)), "KolBot")

    assert read("hello all") is None
    assert read("/help@another_bot") is None
    help_ = read("/help@kolbot")
    assert help_ is not None
    assert (help_.command, help_.is_private, help_.chat.chat_id) == ("help", False, "-100123")
    assert help_.private_chat_url == "https://t.me/KolBot?start=signup"
    assert read("/help") is not None


def test_button_presses_carry_the_message_they_were_on() -> None:
    query = {
        "id": "q1",
        "from": {"id": 7, "is_bot": False, "first_name": "Ana"},
        "chat_instance": "ci",
        "message": _message(GROUP, "Choose", reply_markup={"inline_keyboard": []}),
        "data": "lang:pl",
    }
    pressed = to_incoming(_update(callback_query=query), "kolbot")
    assert pressed is not None
    assert (pressed.kind, pressed.button_data, pressed.message_id) == ("button", "lang:pl", "5")
    assert (pressed.is_private, pressed.chat.chat_id) == (False, "-100123")
    no_message = {key: value for key, value in query.items() if key != "message"}
    assert to_incoming(_update(callback_query=no_message), "kolbot") is None


def test_bots_and_channel_posts_are_not_read() -> None:
    bot_message = _message(PRIVATE)
    bot_message["from"] = {"id": 8, "is_bot": True, "first_name": "Other"}
    assert to_incoming(_update(message=bot_message), "kolbot") is None
    channel = {"id": -1009, "type": "channel", "title": "News"}
    post = {"message_id": 1, "date": 1_700_000_000, "chat": channel, "text": "/start"}
    assert to_incoming(_update(channel_post=post), "kolbot") is None


def test_redact_hides_tokens_in_urls() -> None:
    url = "https://api.telegram.org/bot123456:AA-bb_CC/sendMessage"
    assert redact(f"Cannot connect to {url}") == (
        "Cannot connect to https://api.telegram.org/bot<token>/sendMessage"
    )


def test_redact_hides_a_token_in_use_wherever_it_is() -> None:
    """A Bot API root without /bot (a self-hosted server, a typo) puts the token anywhere."""
    token = "654321:token-in-use-0123456789"
    remember(token)
    assert redact(f"Invalid URL: http://127.0.0.1:9{token}/getMe") == (
        "Invalid URL: http://127.0.0.1:9<token>/getMe"
    )
    assert redact(f"http://bots.example.com/api/{token}/getMe") == (
        "http://bots.example.com/api/<token>/getMe"
    )
