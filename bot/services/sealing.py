"""The key that seals payout details, held to the one the database was sealed with."""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography.fernet import InvalidToken

from bot.settings import Settings
from storage.base import UnitOfWork
from storage.clock import utcnow
from storage.models import SealedPayout
from storage.sealing import EMPTY_PASSPHRASE, KeySource, KeyUnusable, Sealer

log = logging.getLogger(__name__)


def key_source(settings: Settings) -> KeySource:
    return KeySource(settings.secret_key, settings.key_path, settings.old_key_path)


async def unlock(uow: UnitOfWork, source: KeySource) -> Sealer:
    """The sealer for this database, whose key check it records the first time.

    A key other than the recorded one, or no key where one was recorded, is refused: new
    details would be sealed with a key the old ones do not open, and reuse of a payout
    destination would go unflagged. Details sealed with the empty passphrase of older
    versions are sealed again with the real key."""
    keys = uow.sealing_key
    recorded = await keys.recorded_check()
    try:
        sealer = source.load()
    except KeyUnusable as error:
        if not _left_by_a_first_start(source.file):
            raise KeyUnusable(
                f"{error}; {source.file} is no key file kolbot made: is KOLBOT_KEY_FILE the "
                "right path?"
            ) from None
        if recorded is None and await keys.sealed_sample() is None:
            raise KeyUnusable(
                f"{error}; or, since this database holds no payout details yet, delete the "
                "file and a new key is made"
            ) from None
        raise
    if sealer is None:
        if recorded is not None or await keys.sealed_sample() is not None:
            raise KeyUnusable(
                f"the database {_holds(recorded)}, and {source.where} does not exist: restore "
                "it from your copy (or set KOLBOT_SECRET_KEY to the key), then start again"
            )
        sealer = source.create()
    if recorded is None:
        await _adopt(uow, sealer, source)
        await keys.record_check(sealer.check, utcnow())
    elif recorded != sealer.check:
        raise KeyUnusable(
            f"{source.where} is not the key this database was sealed with: restore that key "
            "(the key file kept with it, or its KOLBOT_SECRET_KEY) and start again, or run "
            f"`kolbot db rekey` with it to change to this one{_moved_hint(source)}"
        )
    return sealer


async def rekey(uow: UnitOfWork, old: Sealer, source: KeySource) -> int:
    """Seal every payout detail again with the configured key (made when it is a key file
    not there yet), opening them with ``old``, and record the new key's check: to leave a
    short passphrase, or a key that leaked. How many were sealed again."""
    keys = uow.sealing_key
    recorded = await keys.recorded_check()
    sample = await keys.sealed_sample()
    if recorded not in (None, old.check) or (sample is not None and not old.opens(sample)):
        raise KeyUnusable(
            "the old key given is not the key this database was sealed with: nothing changed"
        )
    new = source.load() or source.create()
    count = await _reseal(uow, old, new)
    await keys.record_check(new.check, utcnow())
    return count


async def _adopt(uow: UnitOfWork, sealer: Sealer, source: KeySource) -> None:
    """Before the first check is recorded: the details stored must open with this key, or
    with the empty passphrase (sealed again now)."""
    sample = await uow.sealing_key.sealed_sample()
    if sample is None or sealer.opens(sample):
        return
    if not EMPTY_PASSPHRASE.opens(sample):
        raise KeyUnusable(
            f"{source.where} does not open the payout details in the database: restore the "
            f"key they were sealed with and start again{_moved_hint(source)}"
        )
    count = await _reseal(uow, EMPTY_PASSPHRASE, sealer)
    log.warning(
        "%d payout detail(s) were sealed with an empty KOLBOT_SECRET_KEY, which anyone can "
        "compute; sealed them again with %s",
        count,
        source.where,
    )


async def _reseal(uow: UnitOfWork, old: Sealer, new: Sealer) -> int:
    keys = uow.sealing_key
    count = 0
    for person_id, payout in await keys.payouts():
        if not new.opens(payout.sealed):
            await keys.replace_payout(person_id, _resealed(payout, old, new))
            count += 1
    for key, payout in await keys.draft_payouts():
        if not new.opens(payout.sealed):
            await keys.replace_draft_payout(key, _resealed(payout, old, new))
            count += 1
    return count


def _resealed(payout: SealedPayout, old: Sealer, new: Sealer) -> SealedPayout:
    try:
        plain = old.unseal(payout.sealed)
    except InvalidToken:
        raise KeyUnusable(
            "the payout details in the database were sealed with more than one key: restore "
            "a copy of the database from before that happened"
        ) from None
    return payout.model_copy(
        update={
            "sealed": new.seal(plain),
            "fingerprint": new.payout_fingerprint(payout.method, plain),
        }
    )


# A key file holds a 44-character key; a crash or a full disk during the first start leaves
# it empty or cut short.
_KEY_FILE_MAX_BYTES = 64


def _left_by_a_first_start(path: Path) -> bool:
    """A file no bigger than a key: a key file, however damaged. A bigger one, or a folder, is
    something KOLBOT_KEY_FILE names by mistake, never to be deleted on kolbot's word."""
    try:
        return path.is_file() and path.stat().st_size <= _KEY_FILE_MAX_BYTES
    except OSError:  # a loop of links, a folder not ours to look in
        return False


def _holds(recorded: str | None) -> str:
    return "was sealed with a key" if recorded is not None else "holds sealed payout details"


def _moved_hint(source: KeySource) -> str:
    """The key file there belongs to another database of the folder, most likely: pointing
    at the old one keeps both, where moving it would overwrite the other's only key."""
    if source.secret is None and source.old_file is not None and source.old_file.exists():
        return f" ({source.old_file} is there too: if that is its key, set KOLBOT_KEY_FILE to it)"
    return ""
