"""Signing up on Telegram end to end: typing, pressing, restarting, in two languages."""

from __future__ import annotations

import json

from bot.settings import Settings
from tests.e2e.telegram_harness import TgUser, eventually, running_bot, sign_up
from tests.fakes.store import people
from tests.fakes.telegram_server import FakeTelegram

pytest_plugins = ["tests.e2e.telegram_fixtures"]


async def test_english_signup_by_typing_and_pressing(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 101, "Anna", last_name="Kowalska", language_code="en")
        await anna.say("/start")
        assert anna.last.text == "Choose your language:"
        assert anna.last.labels()[0] == "English"
        await anna.press("English")
        assert anna.last.text == "What name should brands see?"
        await anna.press("Use “Anna Kowalska”")
        await anna.say("Poland")  # one zone: not asked
        assert anna.last.text == "Add a social account: which network is it on?"
        await anna.press("Instagram")
        await anna.say("anna.fit")
        await anna.say("12k")
        assert anna.last.labels() == ["Add another account", "Continue"]
        await anna.press("Continue")
        picker = anna.last
        changed = await anna.press("Fashion")
        assert [m.message_id for m in changed] == [picker.message_id]  # edited in place
        assert "✅ Fashion" in anna.last.labels()
        await anna.press("Travel")
        await anna.press("Done")
        await anna.press("PayPal")
        await anna.say("anna@example.com")
        await anna.press("I agree")
        assert anna.last.text.startswith("Please check your answers:")
        assert "Name: Anna Kowalska" in anna.last.text
        await anna.press("Confirm and apply")
        assert "Your application is in" in anna.last.text
        row = await bot.app.store.db.fetchone(
            "SELECT people.status, people.language, accounts.dm_chat, accounts.reachable "
            "FROM people JOIN accounts ON accounts.person_id = people.id"
        )
        assert row is not None
        assert tuple(row) == ("applicant", "en", "telegram:101", 1)


async def test_polish_signup_stores_polish(tg_settings: Settings, telegram: FakeTelegram) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        ola = TgUser(bot, 102, "Ola", language_code="pl")
        await sign_up(ola, language="pl", name="Ola Nowak")
        # The language the Telegram client reports was offered first.
        picker = next(m for m in ola.messages if m.buttons())
        assert picker.buttons()[0]["callback_data"] == "lang:pl"
        person = await people(bot.app).by_account("telegram", "102")
        assert person is not None
        assert (person.language, person.status, person.display_name) == (
            "pl",
            "applicant",
            "Ola Nowak",
        )
        account = await people(bot.app).account("telegram", "102")
        assert account is not None
        assert (account.dm_chat, account.reachable) == ("telegram:102", True)


async def test_a_restart_mid_signup_resumes_and_skips_handled_updates(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 103, "Anna")
        await anna.say("/start")
        await anna.press("English")
        await anna.say("Anna K")
        country_update = telegram.say(anna.chat_id, anna.user_id, "Germany")
        await bot.settled(country_update)
        assert "time zone" in anna.last.text
    sent_before_restart = len(anna.messages)

    async with running_bot(tg_settings, telegram) as bot:
        anna.bot = bot
        # Telegram may deliver again what the old process took but never confirmed.
        telegram.redeliver(country_update)
        await eventually(lambda: telegram.deliveries[country_update] == 2, what="redelivery")
        await bot.settled(country_update)
        assert len(anna.messages) == sent_before_restart
        # A button sent before the restart still works after it.
        await anna.press("Europe/Berlin")
        assert anna.last.text.startswith("Add a social account")
        await anna.press("Instagram")
        await anna.say("anna.k")
        await anna.say("5k")
        await anna.press("Continue")
        await anna.press("Fashion")
        await anna.press("Done")
        await anna.press("PayPal")
        await anna.say("anna.k@example.com")
        await anna.press("I agree")
        assert "Name: Anna K\n" in anna.last.text
        await anna.press("Confirm and apply")
        person = await people(bot.app).by_account("telegram", "103")
        assert person is not None
        assert (person.status, person.country, person.timezone) == (
            "applicant",
            "DE",
            "Europe/Berlin",
        )


async def test_after_a_restart_a_typed_answer_is_taken_and_start_asks_again(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        lena = TgUser(bot, 105, "Lena")
        await lena.say("/start")
        await lena.press("English")
        await lena.say("Lena")
        assert lena.last.text.startswith("Which country")
    async with running_bot(tg_settings, telegram) as bot:
        lena.bot = bot
        # The question is still on screen: what is typed answers it, nothing is asked first.
        replies = await lena.say("Germany")
        assert [m.text.split("?")[0] for m in replies] == ["Which time zone are you in"]
        replies = await lena.say("/start")
        assert replies[0].text == "Welcome back! Let's continue where you left off."
        assert replies[-1].text.startswith("Which time zone are you in?")
        assert replies[-1].labels() == ["Europe/Berlin", "Europe/Busingen"]
        await lena.press("Europe/Berlin")
        assert lena.last.text.startswith("Add a social account")


async def test_user_text_is_escaped_never_markup(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    name = "Bo <b>&</b> <script>alert(1)</script>"
    async with running_bot(tg_settings, telegram) as bot:
        bo = TgUser(bot, 104, "Bo")
        await sign_up(bo, name=name)
        review = next(m for m in bo.messages if m.text.startswith("Please check your answers:"))
        # What the user sees is exactly what they typed, not bold, not a script.
        assert f"Name: {name}" in review.text
        assert (
            "Name: Bo &lt;b&gt;&amp;&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;" in review.raw
        )
        assert review.parse_mode == "HTML"
        assert name in bo.last.text
    # The fake parsed every message as Telegram would; the fixture checks it found no fault.


async def test_editing_one_account_keeps_the_others(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 105, "Anna", language_code="en")
        await sign_up(anna)
        await anna.say("/edit")
        await anna.press("Edit: Social accounts")
        assert anna.last.labels() == ["Instagram @creator105", "Add another account", "Continue"]
        await anna.press("Add another account")
        await anna.press("TikTok")
        await anna.say("anna.tok")
        await anna.say("3k")
        await anna.press("Instagram @creator105")
        assert anna.last.labels() == [
            "Change the handle",
            "Change the follower count",
            "Remove this account",
            "Keep it as it is",
        ]
        await anna.press("Change the follower count")
        await anna.say("20k")
        assert anna.last.text.startswith(
            "Your accounts so far:\n"
            "• Instagram @creator105: 20,000 followers\n"
            "• TikTok @anna.tok: 3,000 followers"
        )
        await anna.press("Continue")
        await anna.press("Done")
        person = await people(bot.app).by_account("telegram", "105")
        assert person is not None
        assert [(s.network, s.handle, s.followers) for s in person.socials] == [
            ("instagram", "creator105", 20_000),
            ("tiktok", "anna.tok", 3_000),
        ]


async def test_blank_names_typos_and_zone_abbreviations_over_telegram(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        # Telegram trims spaces, so a "blank" name is sent as a Hangul filler.
        blank = TgUser(bot, 105, "\u3164", language_code="en")
        await blank.say("/start")
        await blank.press("English")
        assert blank.last.text == "What name should brands see?"
        assert blank.last.labels() == []
        replies = await blank.say("\u3164")
        assert [m.text for m in replies] == [
            "A name needs at least one letter.",
            "What name should brands see?",
        ]
        await blank.say("\u200fمريم")
        await blank.say("Ukriane")
        assert blank.last.labels() == ["Ukraine"]
        await blank.press("Ukraine")
        assert blank.last.text.endswith("for example Europe/Kyiv.")
        await blank.say("EET")
        assert blank.last.text == (
            "In your country (Ukraine), EET is Europe/Kyiv. Is that your time zone?"
        )
        await blank.press("Yes")
        assert blank.last.text == "Add a social account: which network is it on?"
        row = await bot.app.store.db.fetchone(
            "SELECT data FROM conversations WHERE platform = 'telegram' AND chat = '105'"
        )
        assert row is not None
        draft = json.loads(row["data"])
        assert (draft["name"], draft["country"], draft["tz"]) == ("مريم", "UA", "Europe/Kyiv")
        assert telegram.errors == []
