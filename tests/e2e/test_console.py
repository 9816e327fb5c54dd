"""``python -m bot run`` with piped stdin or a terminal: a complete signup lands in the
database, and a restart anywhere in it picks up where it left off."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from bot.adapters.console_adapter import BAD_NAME, FOR_SOMEONE_ELSE, SPEAKING_AS, WHICH_ONE
from bot.i18n import LANGUAGES, translator
from bot.services.review import REJECTION_REASONS
from storage.clock import utcnow
from tests.clock import LAUNCHER, kolbot_command

SIGNUP = [
    "/start",
    "Polski",  # a label works as well as a number
    "Anna <b>&</b>",
    "Niemcy",
    "1",  # Europe/Berlin
    "1",  # Instagram
    "https://instagram.com/anna.insta/",
    "12 345",
    "2",  # Continue
    "1",  # toggle the first topic
    "3",  # and the third (fashion, beauty, tech)
    "13",  # Done
    "2",  # IBAN
    "DE89 3704 0044 0532 0130 00",
    "1",  # I agree
    "8",  # Confirm
]


def bot_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KOLBOT_")}
    env |= {
        "KOLBOT_DATABASE": str(tmp_path / "console.db"),
        "KOLBOT_SECRET_KEY": "console-test-secret",
        "LANG": "C.UTF-8",
    }
    return env | extra


def run_bot(
    tmp_path: Path,
    lines: list[str],
    *,
    timeout: float = 60,
    log_level: str | None = None,
    raw: bytes | None = None,
    args: Sequence[str] = ("run",),
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot``; ``raw`` is fed to stdin as is instead of ``lines``."""
    if log_level:
        env["KOLBOT_LOG_LEVEL"] = log_level
    result = subprocess.run(
        kolbot_command(*args),
        input=raw if raw is not None else ("\n".join(lines) + "\n").encode(),
        capture_output=True,
        env=bot_env(tmp_path, **env),
        cwd=tmp_path,
        timeout=timeout,
        check=False,
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode(errors="replace"),
        result.stderr.decode(errors="replace"),
    )


def opening(stdout: str) -> str:
    """What the console showed before it read its first line."""
    return re.split(r"^> ", stdout, maxsplit=1, flags=re.MULTILINE)[0]


def answer_to(stdout: str, line: str) -> str:
    """What the console printed after echoing ``line``, up to the next echoed line."""
    after = stdout.split(f"> {line}\n", 1)[1]
    return re.split(r"^> ", after, maxsplit=1, flags=re.MULTILINE)[0]


def test_piped_signup_leaves_an_applicant(tmp_path: Path) -> None:
    result = run_bot(tmp_path, SIGNUP)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    with closing(sqlite3.connect(tmp_path / "console.db")) as db:
        row = db.execute(
            "SELECT display_name, language, country, timezone, status FROM people"
        ).fetchone()
        socials = db.execute("SELECT network, handle, followers FROM social_profiles").fetchall()
        niches = db.execute("SELECT niche FROM person_niches ORDER BY niche").fetchall()
        payout = db.execute("SELECT method, masked, details FROM payouts").fetchone()
        account = db.execute("SELECT platform, dm_chat FROM accounts").fetchone()
    assert row == ("Anna <b>&</b>", "pl", "DE", "Europe/Berlin", "applicant")
    assert socials == [("instagram", "anna.insta", 12345)]
    assert niches == [("fashion",), ("tech",)]
    assert payout[0] == "iban"
    assert payout[1] == "DE89 **** 3000"
    assert "DE89" not in payout[2]
    assert account == ("console", "console:local")
    assert "> Polski" in result.stdout


def test_quit_and_end_of_input_exit_cleanly(tmp_path: Path) -> None:
    assert run_bot(tmp_path, ["/help", "/quit", "/start"]).returncode == 0
    result = run_bot(tmp_path, ["/start"])
    assert result.returncode == 0
    assert "Choose your language:" in result.stdout


def test_payout_details_never_reach_the_logs(tmp_path: Path) -> None:
    result = run_bot(tmp_path, SIGNUP, log_level="DEBUG")
    assert result.returncode == 0, result.stderr
    assert "DEBUG" in result.stderr
    compact = result.stderr.replace(" ", "")
    assert "DE89370400440532013000" not in compact
    assert "0532" not in result.stderr
    assert "console-test-secret" not in result.stderr


def test_a_blank_name_is_answered_not_ignored(tmp_path: Path) -> None:
    result = run_bot(tmp_path, ["/start", "1", "   ", "", "Anna"])
    assert result.returncode == 0, result.stderr
    after_blank = result.stdout.split(">    \n", 1)[1]
    # Spaces are an answer and get the name's error; an empty line is nothing at all.
    assert after_blank.startswith(
        "A name needs at least one letter.\n\nWhat name should brands see?\n\n> \n> Anna\n"
    ), after_blank
    assert "Which country do you live in?" in after_blank


WELCOME_BACK = "Welcome back! Let's continue where you left off."

# Each run is one start of the console; every run after the first begins at a button step
# and answers it before anything else, so each button is typed right after a restart.
# (line, what the bot's answer to it says)
BY_LABEL = [
    [("/start", "Choose your language:")],
    [("English", "What name should brands see?"), ("Anna", "Which country"), ("Germany", "")],
    [("Europe/Berlin", "Add a social account")],
    [("Instagram", "What is your Instagram handle?"), ("anna.insta", ""), ("12k", "")],
    [("Continue", "Which topics do you post about?")],
    [("Fashion", "[x] Fashion")],
    [("Done", "How would you like to be paid?")],
    [("PayPal", "Type the email address"), ("anna@example.com", "Terms of the programme")],
    [("I agree", "Please check your answers:")],
    [("Confirm and apply", "Thank you, Anna! Your application is in"), ("/edit", "")],
    [("Done", "Your profile is saved.")],
]
NUMBERS = {
    "English": "1",
    "Europe/Berlin": "1",
    "Instagram": "1",
    "Continue": "2",
    "Fashion": "1",
    "Done": "13",
    "PayPal": "1",
    "I agree": "1",
    "Confirm and apply": "8",
}


@pytest.mark.parametrize("typed", ["labels", "numbers"])
def test_every_button_answers_by_label_or_number_after_a_restart(
    tmp_path: Path, typed: str
) -> None:
    for start, by_label in enumerate(BY_LABEL):
        run = by_label
        if typed == "numbers":
            # The edit screen's Done is the eighth choice (seven Edit buttons before it).
            last = start == len(BY_LABEL) - 1
            run = [("8" if last else NUMBERS.get(line, line), reply) for line, reply in by_label]
        result = run_bot(tmp_path, [line for line, _ in run])
        assert result.returncode == 0, result.stderr
        if start > 0:
            # The pending question, with its numbered choices, before anything is read.
            assert opening(result.stdout).startswith(WELCOME_BACK), result.stdout
            assert "  1) " in opening(result.stdout)
        for line, reply in run:
            answer = answer_to(result.stdout, line)
            assert reply in answer, (line, result.stdout)
            assert "Please choose" not in answer
            assert "earlier question" not in answer
    with closing(sqlite3.connect(tmp_path / "console.db")) as db:
        row = db.execute("SELECT display_name, timezone, status FROM people").fetchone()
        niches = db.execute("SELECT niche FROM person_niches").fetchall()
        payout = db.execute("SELECT method FROM payouts").fetchone()
    assert row == ("Anna", "Europe/Berlin", "applicant")
    assert niches == [("fashion",)]
    assert payout == ("paypal",)


def test_a_restart_at_a_typed_answer_shows_the_question_before_reading(tmp_path: Path) -> None:
    run_bot(tmp_path, ["/start", "English", "Anna"])
    result = run_bot(tmp_path, ["Germany"])
    shown = opening(result.stdout)
    assert shown.startswith(WELCOME_BACK)
    assert "Which country do you live in?" in shown
    assert answer_to(result.stdout, "Germany").startswith("Which time zone are you in?")


def test_commands_mid_signup_ask_the_pending_question_again(tmp_path: Path) -> None:
    run_bot(tmp_path, ["/start", "English", "Anna", "Germany"])
    result = run_bot(tmp_path, ["/help", "/profile", "/edit", "1"])
    assert "/quit — Leave the chat" in answer_to(result.stdout, "/help")
    for command in ("/help", "/profile", "/edit"):
        answer = answer_to(result.stdout, command)
        assert "Which time zone are you in?" in answer, command
        assert answer.rstrip().endswith("2) Europe/Busingen"), command
    assert answer_to(result.stdout, "1").startswith("Add a social account")


def test_language_keeps_the_numbers_of_the_signup_picker(tmp_path: Path) -> None:
    result = run_bot(tmp_path, ["/start", "Polski", "/language"])

    def choices(line: str) -> list[str]:
        return re.findall(r"^  \d+\) .+$", answer_to(result.stdout, line), re.MULTILINE)

    assert choices("/start") == choices("/language")
    assert "  5) Polski" in choices("/language")


def test_bytes_that_are_not_utf8_are_replaced_not_fatal(tmp_path: Path) -> None:
    raw = b"/start\nEngl\xff\xfeish\nEnglish\n"
    result = run_bot(tmp_path, [], raw=raw, timeout=30, PYTHONIOENCODING="utf-8:strict")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert answer_to(result.stdout, "Engl\ufffd\ufffdish").startswith(
        "Please choose one of the options below."
    )
    assert answer_to(result.stdout, "English").startswith("What name should brands see?")
    # The console shows numbered choices, not buttons.
    assert "button" not in result.stdout.lower()


def test_db_upgrade_reports_once_and_the_chat_has_no_log_lines(tmp_path: Path) -> None:
    env = bot_env(tmp_path)
    del env["KOLBOT_SECRET_KEY"]  # the first run makes the key file too
    upgrade = subprocess.run(
        kolbot_command("db", "upgrade"),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert re.search(r"^applied \d+ migration", upgrade.stdout, re.MULTILINE)
    assert "created the key file" in upgrade.stdout
    assert upgrade.stderr == ""
    chat = subprocess.run(
        kolbot_command("run"),
        input="/start\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert chat.returncode == 0
    assert chat.stderr == ""
    assert "Choose your language:" in chat.stdout


class Terminal:
    """The bot on a pseudo-terminal, as a person at a desktop runs it."""

    def __init__(self, tmp_path: Path) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            kolbot_command("run"),
            stdin=slave,
            stdout=slave,
            stderr=subprocess.PIPE,
            env=bot_env(tmp_path),
            cwd=tmp_path,
        )
        os.close(slave)
        self.screen = b""

    def read_until(self, wanted: bytes, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while wanted not in self.screen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.screen += os.read(self.master, 4096)
                except OSError:  # the bot closed the terminal
                    break
        return wanted in self.screen

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        assert self.process.stderr is not None
        self.process.stderr.close()
        os.close(self.master)


def test_ctrl_d_on_a_terminal_leaves_clean_lines(tmp_path: Path) -> None:
    terminal = Terminal(tmp_path)
    try:
        assert terminal.read_until(b"> ")
        # A line ended by Ctrl-D instead of Enter is answered at once, on a line of its own.
        terminal.type(b"/help\x04")
        assert terminal.read_until(b"/quit"), terminal.screen
        assert b"> /help\r\nCommands:" in terminal.screen
        assert terminal.read_until(b"\r\n> ")
        # Ctrl-D at the prompt ends the chat, and the shell's prompt gets a line of its own.
        terminal.type(b"\x04")
        assert terminal.process.wait(20) == 0
        terminal.read_until(b"> \r\n", timeout=2)
        assert terminal.screen.endswith(b"> \r\n"), terminal.screen
    finally:
        terminal.close()


def test_ctrl_c_at_the_prompt_leaves_a_clean_line(tmp_path: Path) -> None:
    terminal = Terminal(tmp_path)
    try:
        assert terminal.read_until(b"> ")
        terminal.process.send_signal(signal.SIGINT)
        assert terminal.process.wait(20) == 0
        terminal.read_until(b"> \r\n", timeout=2)
        assert terminal.screen.endswith(b"> \r\n"), terminal.screen
    finally:
        terminal.close()


def test_a_message_sent_while_waiting_at_the_prompt_goes_below_it(tmp_path: Path) -> None:
    """An operator approves the person while the console waits for them: the welcome starts on
    a line of its own and the prompt comes again below it."""
    assert run_bot(tmp_path, SIGNUP).returncode == 0
    terminal = Terminal(tmp_path)
    try:
        assert terminal.read_until(b"> ")
        approve = subprocess.run(
            kolbot_command("people", "approve", "1"),
            capture_output=True,
            env=bot_env(tmp_path),
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
        assert approve.returncode == 0, approve.stderr
        assert terminal.read_until(b"/profile"), terminal.screen
        assert terminal.read_until(b"\r\n\r\n> "), terminal.screen
        welcome = terminal.screen.rsplit(b"> \r\n", 1)[1]
        assert welcome.startswith(b"Witamy"), terminal.screen
        assert welcome.endswith(b"\r\n\r\n> ")
    finally:
        terminal.close()


def test_numbers_still_answer_the_open_question_after_a_message_arrives(tmp_path: Path) -> None:
    """The welcome an approval sends has no choices of its own: the edit card above it is
    still the open question, and its numbers still answer it."""
    assert run_bot(tmp_path, [*SIGNUP, "/edit"]).returncode == 0
    terminal = Terminal(tmp_path)
    try:
        assert terminal.read_until(b"8) Gotowe"), terminal.screen
        assert terminal.read_until(b"> ")
        approve = subprocess.run(
            kolbot_command("people", "approve", "1"),
            capture_output=True,
            env=bot_env(tmp_path),
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
        assert approve.returncode == 0, approve.stderr
        assert terminal.read_until(b"/profile"), terminal.screen
        assert terminal.read_until(b"\r\n\r\n> "), terminal.screen
        terminal.type(b"2\n")
        assert terminal.read_until(b"Jakie imi"), terminal.screen
        assert b"Wybierz jedn" not in terminal.screen
    finally:
        terminal.close()


def test_a_long_piped_script_is_read_to_its_last_line(tmp_path: Path) -> None:
    """The console reads a line only once the one before is answered, so it cannot flood:
    no line of a script is dropped as one, however fast it is piped."""
    result = run_bot(tmp_path, ["/help"] * 40)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Commands:") == 40


def test_output_closed_by_its_reader_ends_the_chat_quietly(tmp_path: Path) -> None:
    """``kolbot run | head``: once no one reads the answers, the chat ends as at the end of
    input, without a traceback."""
    process = subprocess.Popen(
        kolbot_command("run"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=bot_env(tmp_path),
        cwd=tmp_path,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    assert process.stdout.readline().startswith(b"Hello!")
    process.stdout.close()
    try:
        process.stdin.write(b"/help\n" * 20)
        process.stdin.close()
    except BrokenPipeError:
        pass  # it has already gone
    assert process.stderr is not None
    assert process.wait(timeout=30) == 0, process.stderr.read().decode()
    errors = process.stderr.read()
    process.stderr.close()
    assert b"Traceback" not in errors
    assert b"Broken pipe" not in errors


# Several cards on one screen, and several people on one console ------------------------------

CAMPAIGN = """
brand = "Acme{n}"
title = "Boots {n}"
brief = "Show the boots in snow."
commission = "10%"
slots = 5
deadline = "2026-12-24 18:00"
landing_url = "https://acme.example/boots"
"""


def kolbot(
    tmp_path: Path, *args: str, behind: timedelta = timedelta(0)
) -> subprocess.CompletedProcess[str]:
    """A ``kolbot`` command beside the chat, its clock ``behind`` the test's."""
    result = subprocess.run(
        [sys.executable, str(LAUNCHER), (utcnow() - behind).isoformat(), *args],
        capture_output=True,
        text=True,
        env=bot_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def an_agency_with_campaigns(tmp_path: Path, campaigns: int) -> str:
    """Agency 1 with ``campaigns`` campaigns publishing (#1 the oldest), in a database made
    as `make run` makes it; its invite code."""
    assert kolbot(tmp_path, "db", "upgrade").returncode == 0
    created = kolbot(tmp_path, "agency", "create", "Acme")
    code = re.search(r"^invite code: (\S+)$", created.stdout, re.MULTILINE)
    assert code is not None, created.stdout
    for n in range(1, campaigns + 1):
        (tmp_path / f"c{n}.toml").write_text(CAMPAIGN.format(n=n))
        kolbot(tmp_path, "campaign", "create", "--agency", "1", f"c{n}.toml", "--publish")
    return code[1]


def choices_in(answer: str) -> list[tuple[str, str]]:
    return re.findall(r"^  (\d+)\) (.+)$", answer, re.MULTILINE)


def said(stdout: str, line: str, prompt: str = "> ") -> str:
    """What the console printed after echoing ``line`` at ``prompt``, up to the next line."""
    after = stdout.split(f"{prompt}{line}\n", 1)[1]
    return re.split(r"^[\w.-]*> ", after, maxsplit=1, flags=re.MULTILINE)[0]


def table(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(tmp_path / "console.db")) as db:
        return db.execute(sql).fetchall()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_numbers_run_on_across_every_campaign_card_on_the_screen(
    tmp_path: Path, language: str
) -> None:
    """Each card's Pause and Close can be reached: the second card's numbers follow the
    first's, a card shown again after a press keeps its numbers, and a label two cards share
    is asked about, in the admin's language."""
    code = an_agency_with_campaigns(tmp_path, 2)
    t = translator(language)
    refresh = t._("Refresh")
    result = run_bot(
        tmp_path,
        [f"/agency {code}", "/campaigns", refresh, "4", "2"],
        LANG=f"{language}_XX.UTF-8",
        LC_ALL="C.UTF-8",
    )
    assert result.returncode == 0, result.stderr
    pause, close, resume = t._("Pause"), t._("Close"), t._("Resume")
    assert choices_in(answer_to(result.stdout, "/campaigns")) == [
        ("1", pause),
        ("2", close),
        ("3", refresh),
        ("4", pause),
        ("5", close),
        ("6", refresh),
    ]
    assert answer_to(result.stdout, refresh).startswith(t._(WHICH_ONE, label=refresh))
    # Campaign #1, the second card, paused: shown again with its own numbers.
    assert choices_in(answer_to(result.stdout, "4")) == [
        ("4", resume),
        ("5", close),
        ("6", refresh),
    ]
    assert choices_in(answer_to(result.stdout, "2")) == [("1", refresh)]
    assert table(tmp_path, "SELECT id, status FROM campaigns ORDER BY id") == [
        (1, "paused"),
        (2, "closed"),
    ]


def test_an_open_offer_above_an_accepted_place_can_be_accepted(tmp_path: Path) -> None:
    assert run_bot(tmp_path, SIGNUP).returncode == 0
    an_agency_with_campaigns(tmp_path, 2)
    kolbot(tmp_path, "people", "approve", "1")  # offered both campaigns
    assert "Boots 2" in run_bot(tmp_path, ["/help"]).stdout  # the offers are shown
    result = run_bot(tmp_path, ["/offers", "4", "/offers", "1"])
    assert result.returncode == 0, result.stderr
    t = translator("pl")
    accept = t._("Accept")
    listed = answer_to(result.stdout, "/offers")
    assert listed.index("Boots 2") < listed.index("Boots 1")  # newest first
    assert [label for _, label in choices_in(listed)][::3] == [accept, accept]
    assert ("4", accept) in choices_in(listed)
    # The open offer (#2) is listed first, above the place just taken in campaign #1.
    again = result.stdout.rsplit("> /offers\n", 1)[1].split("> 1\n")[0]
    assert again.index("Boots 2") < again.index("Boots 1")
    assert choices_in(again)[0] == ("1", accept)
    assert table(tmp_path, "SELECT campaign_id, status FROM offers ORDER BY campaign_id") == [
        (1, "accepted"),
        (2, "accepted"),
    ]


def test_the_console_speaks_as_another_person_on_the_same_database(tmp_path: Path) -> None:
    """An influencer and an agency admin tried on one database: /as switches who types, each
    name with an account of its own, and the prompt says who it is."""
    code = an_agency_with_campaigns(tmp_path, 1)
    result = run_bot(
        tmp_path,
        [
            *SIGNUP,
            "/as boss",
            f"/agency {code}",
            "/campaigns",
            "/as",
            "/as two words",
            "/as local",
        ],
    )
    assert result.returncode == 0, result.stderr
    t = translator(None)
    switched = said(result.stdout, "/as boss")
    assert switched.startswith(t._(SPEAKING_AS, name="boss") + "\n\n")
    assert "Hello! Send /start" in switched  # a person of their own, new here
    assert "Acme" in said(result.stdout, f"/agency {code}", "boss> ")
    assert "Campaign #1" in said(result.stdout, "/campaigns", "boss> ")
    assert said(result.stdout, "/as", "boss> ").startswith(t._(SPEAKING_AS, name="boss"))
    assert said(result.stdout, "/as two words", "boss> ").startswith(t._(BAD_NAME))
    assert said(result.stdout, "/as local", "boss> ").startswith(t._(SPEAKING_AS, name="local"))
    # Anna signed up as the first person; boss has an account and no profile.
    accounts = "SELECT platform_user_id, dm_chat, person_id FROM accounts ORDER BY id"
    assert table(tmp_path, accounts) == [
        ("local", "console:local", 1),
        ("boss", "console:boss", None),
    ]
    assert table(tmp_path, "SELECT platform, platform_user_id FROM agency_admins") == [
        ("console", "boss")
    ]


class PipedRun:
    """``kolbot run`` reading a pipe that stays open: the test types a line, waits for its
    answer, acts beside the chat (a CLI command), and only then ends the input."""

    def __init__(self, tmp_path: Path) -> None:
        self.process = subprocess.Popen(
            kolbot_command("run"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=bot_env(tmp_path),
            cwd=tmp_path,
        )
        self.output = b""

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        self.process.stdin.flush()

    def read_until(self, wanted: str, timeout: float = 30) -> bool:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while wanted.encode() not in self.output and time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    break
                self.output += chunk
        return wanted.encode() in self.output

    def end_input(self) -> tuple[int, str, str]:
        """Close the input and wait for the bot to end; its status, output and log."""
        out, err = self.process.communicate(timeout=60)
        self.output += out
        return self.process.returncode, self.output.decode(), err.decode()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=10)


# The CLI's clock a second behind the bot's: two processes' clocks differ by their start-up
# times, and what the CLI queues must be due at once for the bot, as on one real clock.
BEHIND = timedelta(seconds=1)


def test_what_the_cli_queues_while_a_piped_run_goes_on_is_shown_before_it_ends(
    tmp_path: Path,
) -> None:
    assert run_bot(tmp_path, SIGNUP).returncode == 0
    chat = PipedRun(tmp_path)
    try:
        chat.type("/help")
        assert chat.read_until("/quit — "), chat.output
        kolbot(tmp_path, "people", "reject", "1", "--reason", "region", behind=BEHIND)
        status, stdout, stderr = chat.end_input()
    finally:
        chat.close()
    assert status == 0, stderr
    reason = translator("pl")._(REJECTION_REASONS["region"])
    assert reason in stdout.split("> /help\n", 1)[1]
    assert table(tmp_path, "SELECT COUNT(*) FROM deliveries WHERE status <> 'sent'") == [(0,)]


def test_what_arrives_for_someone_else_is_shown_under_their_name(tmp_path: Path) -> None:
    """The console speaks as one person at a time: an offer for the influencer that arrives
    while the admin types is shown as theirs, its choices for them to press."""
    assert run_bot(tmp_path, SIGNUP).returncode == 0
    an_agency_with_campaigns(tmp_path, 1)
    chat = PipedRun(tmp_path)
    try:
        chat.type("/as boss")
        assert chat.read_until("Hello! Send /start"), chat.output
        kolbot(tmp_path, "people", "approve", "1", behind=BEHIND)
        status, stdout, stderr = chat.end_input()
    finally:
        chat.close()
    assert status == 0, stderr
    t = translator(None)
    offer = stdout.split(t._(FOR_SOMEONE_ELSE, name="local") + "\nAcme1: Boots 1\n", 1)[1]
    assert f"  - {translator('pl')._('Accept')}" in offer
    assert choices_in(offer) == []


def test_what_came_for_someone_is_shown_to_them_numbered_when_the_console_speaks_as_them(
    tmp_path: Path,
) -> None:
    """The offer that arrived while the admin typed is theirs to press: `/as local` shows it
    again on their screen, numbered, and its label presses it."""
    assert run_bot(tmp_path, SIGNUP).returncode == 0
    an_agency_with_campaigns(tmp_path, 1)
    pl = translator("pl")
    chat = PipedRun(tmp_path)
    try:
        chat.type("/as boss")
        assert chat.read_until("Hello! Send /start"), chat.output
        kolbot(tmp_path, "people", "approve", "1", behind=BEHIND)
        assert chat.read_until(f"  - {pl._('Accept')}"), chat.output
        chat.type("/as local")
        chat.type(pl._("Accept"))
        assert chat.read_until("https://acme.example/"), chat.output.decode()
        status, stdout, stderr = chat.end_input()
    finally:
        chat.close()
    assert status == 0, stderr
    again = stdout.split("> /as local\n", 1)[1]
    assert any(label == pl._("Accept") for _, label in choices_in(again))
