"""The key that seals payout details stays the database's key: kept under a name of its own,
checked at every start, and the empty passphrase of older versions replaced."""

from __future__ import annotations

import logging
import shutil
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.app import App
from bot.check import Report, check
from bot.services.sealing import key_source, rekey
from bot.settings import Settings
from storage.sealing import EMPTY_PASSPHRASE, KeyUnusable, Sealer, fernet_key
from storage.sqlite import Database, SqliteStore
from tests.conftest import serving
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import people
from tests.integration.signup import Answers, sign_up

IBAN = "DE89370400440532013000"
KEY_A = "the first passphrase, long enough"
KEY_B = "the second passphrase, long enough"


def with_file(settings: Settings, database: Path) -> Settings:
    """These settings, keeping the key in a key file, for ``database``."""
    return settings.model_copy(update={"secret_key": None, "database": database})


def with_secret(settings: Settings, secret: str) -> Settings:
    return settings.model_copy(update={"secret_key": SecretStr(secret)})


async def signup(app: App, user_id: str, payout: str, *, until: str | None = None) -> None:
    async with serving(app, FakePlatform()) as fake:
        answers = Answers(
            name=f"Person {user_id}",
            handle=f"handle{user_id}",
            payout_method="iban",
            payout=payout,
        )
        await sign_up(Person(fake, user_id=user_id), answers, until=until)


async def flags(app: App, user_id: str) -> list[tuple[str, str]]:
    person = await people(app).by_account("fake", user_id)
    assert person is not None
    result: list[tuple[str, str]] = await people(app).open_flags(person.id)
    return result


def key_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.key"))


def run_check(settings: Settings) -> Report:
    """``kolbot check`` on these settings, for what it says of the database and the key."""
    return check(lambda _settings, _commands: [], lambda: settings)


async def test_renaming_the_database_keeps_its_key(settings: Settings, tmp_path: Path) -> None:
    first = with_file(settings, tmp_path / "prod.db")
    app = await App.open(first)
    await signup(app, "1", IBAN)
    await app.close()
    assert key_files(tmp_path) == ["kolbot.key"]
    (tmp_path / "prod.db").rename(tmp_path / "live.db")

    app = await App.open(with_file(settings, tmp_path / "live.db"))
    try:
        await signup(app, "2", IBAN.lower())
        assert await flags(app, "2") == [("payout_reused", "")]
        anna = await people(app).by_account("fake", "1")
        assert app.services.sealer.unseal(anna.payout.sealed) == IBAN
    finally:
        await app.close()
    assert key_files(tmp_path) == ["kolbot.key"]


async def test_a_key_file_named_after_the_database_is_moved_once(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = Fernet.generate_key()
    (tmp_path / "prod.key").write_bytes(key)
    prod = with_file(settings, tmp_path / "prod.db")
    assert prod.key_path == tmp_path / "kolbot.key"
    with caplog.at_level(logging.WARNING, logger="storage.sealing"):
        app = await App.open(prod)
        await app.close()
        app = await App.open(prod)
        await app.close()
    assert (tmp_path / "kolbot.key").read_bytes() == key
    assert not (tmp_path / "prod.key").exists()
    moved = [r.getMessage() for r in caplog.records if r.getMessage().startswith("moved")]
    assert moved == [
        f"moved the key file {tmp_path / 'prod.key'} to {tmp_path / 'kolbot.key'}: the key "
        "file's name no longer follows the database's"
    ]
    assert app.services.sealer.check == Sealer(key).check


async def test_two_databases_of_one_folder_are_never_told_to_overwrite_a_key(
    settings: Settings, tmp_path: Path
) -> None:
    """staging.db and prod.db with staging.key and prod.key, as older versions kept them: the
    first start takes kolbot.key, and the second is told to point at its own, not to move it
    over the other database's only key."""
    keys = {name: Fernet.generate_key() for name in ("staging", "prod")}
    for name, key in keys.items():
        app = await App.open(
            with_secret(settings, key.decode()).model_copy(
                update={"database": tmp_path / f"{name}.db"}
            )
        )
        await signup(app, "1", IBAN)
        await app.close()
        (tmp_path / f"{name}.key").write_bytes(key)
    app = await App.open(with_file(settings, tmp_path / "staging.db"))
    await app.close()
    assert (tmp_path / "kolbot.key").read_bytes() == keys["staging"]

    with pytest.raises(KeyUnusable) as refused:
        await App.open(with_file(settings, tmp_path / "prod.db"))
    assert "move it" not in str(refused.value)
    assert str(refused.value).endswith(
        f"({tmp_path / 'prod.key'} is there too: if that is its key, set KOLBOT_KEY_FILE to it)"
    )
    prod = with_file(settings, tmp_path / "prod.db").model_copy(
        update={"key_file": tmp_path / "prod.key"}
    )
    app = await App.open(prod)
    try:
        assert app.services.sealer.check == Sealer(keys["prod"]).check
    finally:
        await app.close()
    assert (tmp_path / "kolbot.key").read_bytes() == keys["staging"]


async def test_a_database_copied_without_its_key_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    original = with_file(settings, tmp_path / "kolbot.db")
    app = await App.open(original)
    await signup(app, "1", IBAN)
    await app.close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(original.database, elsewhere / "kolbot.db")

    copy = with_file(settings, elsewhere / "kolbot.db")
    with pytest.raises(KeyUnusable) as refused:
        await App.open(copy)
    assert str(refused.value) == (
        f"the database was sealed with a key, and the key file {elsewhere / 'kolbot.key'} "
        "does not exist: restore it from your copy (or set KOLBOT_SECRET_KEY to the key), "
        "then start again"
    )
    assert sorted(p.name for p in elsewhere.iterdir()) == ["kolbot.db"]
    (problem,) = run_check(copy).problems
    assert problem.startswith(f"key file {elsewhere / 'kolbot.key'} does not exist")

    shutil.copy(tmp_path / "kolbot.key", elsewhere / "kolbot.key")
    app = await App.open(copy)
    try:
        await signup(app, "2", IBAN)
        assert await flags(app, "2") == [("payout_reused", "")]
    finally:
        await app.close()


async def test_another_key_is_refused_and_check_says_so(settings: Settings) -> None:
    app = await App.open(with_secret(settings, KEY_A))
    await app.close()
    assert run_check(with_secret(settings, KEY_A)).problems == []
    assert dict(run_check(with_secret(settings, KEY_A)).found)["key"] == (
        "KOLBOT_SECRET_KEY: readable, seals and unseals; the database's key"
    )

    with pytest.raises(KeyUnusable) as refused:
        await App.open(with_secret(settings, KEY_B))
    assert str(refused.value) == (
        "KOLBOT_SECRET_KEY is not the key this database was sealed with: restore that key "
        "(the key file kept with it, or its KOLBOT_SECRET_KEY) and start again, or run "
        "`kolbot db rekey` with it to change to this one"
    )
    (problem,) = run_check(with_secret(settings, KEY_B)).problems
    assert problem == (
        f"key KOLBOT_SECRET_KEY is not the key the database {settings.database} was sealed "
        "with: restore that key (the key file kept with it, or its KOLBOT_SECRET_KEY); "
        "`kolbot run` refuses to start with this one"
    )


async def test_a_key_file_left_empty_at_the_first_start_says_what_to_do(
    settings: Settings, tmp_path: Path
) -> None:
    fresh = with_file(settings, tmp_path / "kolbot.db")
    (tmp_path / "kolbot.key").write_bytes(b"")
    with pytest.raises(KeyUnusable) as refused:
        await App.open(fresh)
    assert str(refused.value) == (
        f"the key file {tmp_path / 'kolbot.key'} is empty: restore it from your copy of the "
        "key, or set KOLBOT_SECRET_KEY to the key; or, since this database holds no payout "
        "details yet, delete the file and a new key is made"
    )
    (tmp_path / "kolbot.key").unlink()
    app = await App.open(fresh)
    await app.close()


@pytest.mark.parametrize("named", [".env", "notes"])
async def test_a_key_file_setting_naming_another_file_is_not_advised_deleted(
    settings: Settings, tmp_path: Path, named: str
) -> None:
    """KOLBOT_KEY_FILE=.env by mistake, or a folder: it holds no key, but it is no key file
    a crash left behind either, and deleting it would lose what it is."""
    target = tmp_path / named
    if named == ".env":
        target.write_text("KOLBOT_MIN_FOLLOWERS=500\n# the settings of this installation\n" * 4)
    else:
        target.mkdir()
    mistaken = with_file(settings, tmp_path / "kolbot.db").model_copy(update={"key_file": target})
    with pytest.raises(KeyUnusable) as refused:
        await App.open(mistaken)
    assert "delete" not in str(refused.value)
    assert str(refused.value).endswith(
        f"; {target} is no key file kolbot made: is KOLBOT_KEY_FILE the right path?"
    )
    assert target.exists()


async def test_details_sealed_with_the_empty_passphrase_are_sealed_again(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A database of a version that read an empty KOLBOT_SECRET_KEY as the passphrase "":
    from before the key check, with one signup done and one stopped after its payout."""
    old = settings.model_copy(update={"secret_key": SecretStr("")})
    app = await App.open(old)
    await signup(app, "1", IBAN)
    await signup(app, "2", "PL61109010140000071219812874", until="consent")
    await app.close()
    with closing(sqlite3.connect(settings.database)) as raw, raw:
        raw.execute("DELETE FROM sealing_key")
        (sealed,) = raw.execute("SELECT details FROM payouts").fetchone()
    assert EMPTY_PASSPHRASE.opens(sealed)

    real = with_secret(settings, KEY_A)
    with caplog.at_level(logging.WARNING, logger="bot.services.sealing"):
        app = await App.open(real)
        await app.close()
        app = await App.open(real)
    try:
        resealed = [r.getMessage() for r in caplog.records if "empty KOLBOT" in r.getMessage()]
        assert resealed == [
            "2 payout detail(s) were sealed with an empty KOLBOT_SECRET_KEY, which anyone can "
            "compute; sealed them again with KOLBOT_SECRET_KEY"
        ]
        sealer = Sealer(fernet_key(KEY_A))
        first = await people(app).by_account("fake", "1")
        assert not EMPTY_PASSPHRASE.opens(first.payout.sealed)
        assert sealer.unseal(first.payout.sealed) == IBAN
        assert first.payout.fingerprint == sealer.payout_fingerprint("iban", IBAN)
        async with serving(app, FakePlatform()) as fake:
            second = Person(fake, user_id="2")
            await second.say("/start")
            assert second.last_text.startswith("Terms of the programme")
            await sign_up(second, resume_at="consent")
            third = Person(fake, user_id="3")
            await sign_up(
                third, Answers(handle="handle3", payout_method="iban", payout=IBAN.lower())
            )
        stored = await people(app).by_account("fake", "2")
        assert sealer.unseal(stored.payout.sealed) == "PL61109010140000071219812874"
        assert await flags(app, "3") == [("payout_reused", "")]
    finally:
        await app.close()


async def test_check_tells_what_the_next_start_does_with_the_key(
    settings: Settings, tmp_path: Path
) -> None:
    old = settings.model_copy(update={"secret_key": SecretStr("")})
    app = await App.open(old)
    await signup(app, "1", IBAN)
    await app.close()
    with closing(sqlite3.connect(settings.database)) as raw, raw:
        raw.execute("DELETE FROM sealing_key")
    report = run_check(with_secret(settings, KEY_A))
    assert report.problems == []
    assert dict(report.found)["key"] == (
        "KOLBOT_SECRET_KEY: readable, seals and unseals; the database's payout details were "
        "sealed with an empty KOLBOT_SECRET_KEY: they are sealed again with this key at the "
        "next start"
    )


async def test_check_finds_a_key_that_does_not_open_the_details(
    settings: Settings, tmp_path: Path
) -> None:
    """A database from before the key check, and a key file that is not its key."""
    app = await App.open(with_secret(settings, KEY_A))
    await signup(app, "1", IBAN)
    await app.close()
    with closing(sqlite3.connect(settings.database)) as raw, raw:
        raw.execute("DELETE FROM sealing_key")
    key_file = tmp_path / "kolbot.key"
    key_file.write_bytes(Fernet.generate_key())
    key_file.chmod(0o600)
    wrong = with_file(settings, settings.database)
    (problem,) = run_check(wrong).problems
    assert problem == (
        f"key {key_file} does not open the payout details in the database "
        f"{settings.database}: restore the key they were sealed with; `kolbot run` refuses "
        "to start with this one"
    )
    with pytest.raises(KeyUnusable) as refused:
        await App.open(wrong)
    assert str(refused.value) == (
        f"the key file {key_file} does not open the payout details in the database: restore "
        "the key they were sealed with and start again"
    )
    app = await App.open(with_secret(settings, KEY_A))
    await app.close()


async def test_rekey_leaves_a_short_passphrase_for_a_long_one(settings: Settings) -> None:
    """Older versions took any passphrase; this one refuses a short one, so a database sealed
    with one is sealed again with a long one: signups done and in progress, all at once."""
    short = settings.model_copy(update={"secret_key": SecretStr("tiny")})
    app = await App.open(short)
    await signup(app, "1", IBAN)
    await signup(app, "2", "PL61109010140000071219812874", until="consent")
    await app.close()

    store = await SqliteStore.open(settings.database, timedelta(days=7))
    try:
        with pytest.raises(KeyUnusable, match="the old key given is not the key"):
            async with store.unit_of_work() as uow:
                await rekey(
                    uow, Sealer(fernet_key("wrong")), key_source(with_secret(settings, KEY_B))
                )
        async with store.unit_of_work() as uow:
            count = await rekey(
                uow, Sealer(fernet_key("tiny")), key_source(with_secret(settings, KEY_B))
            )
    finally:
        await store.close()
    assert count == 2

    with pytest.raises(KeyUnusable):
        await App.open(short)
    app = await App.open(with_secret(settings, KEY_B))
    try:
        first = await people(app).by_account("fake", "1")
        assert app.services.sealer.unseal(first.payout.sealed) == IBAN
        async with serving(app, FakePlatform()) as fake:
            second = Person(fake, user_id="2")
            await second.say("/start")
            await sign_up(second, resume_at="consent")
        stored = await people(app).by_account("fake", "2")
        assert app.services.sealer.unseal(stored.payout.sealed) == "PL61109010140000071219812874"
        await signup(app, "3", IBAN)
        assert await flags(app, "3") == [("payout_reused", "")]
    finally:
        await app.close()


async def test_check_moves_nothing_and_says_what_the_next_start_moves(
    settings: Settings, tmp_path: Path
) -> None:
    key = Fernet.generate_key()
    (tmp_path / "prod.key").write_bytes(key)
    (tmp_path / "prod.key").chmod(0o600)
    prod = with_file(settings, tmp_path / "prod.db")
    await (await Database.open(prod.database)).close()
    report = run_check(prod)
    assert report.problems == []
    assert dict(report.found)["key"] == (
        f"{tmp_path / 'prod.key'} (moved to {tmp_path / 'kolbot.key'} at the next start): "
        "readable, seals and unseals; recorded as the database's key at the next start"
    )
    assert key_files(tmp_path) == ["prod.key"]


async def test_check_finds_a_database_others_can_read(settings: Settings) -> None:
    app = await App.open(settings)
    await app.close()
    settings.database.chmod(0o644)
    (problem,) = run_check(settings).problems
    assert problem == (
        f"database {settings.database} can be read by other users (mode 0644): "
        f"chmod 600 {settings.database}"
    )
