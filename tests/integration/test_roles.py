"""Agency admins and operators through the whole stack: invites, review, and refusals.

Every refusal is answered in the asker's language and leaves an audit row; nothing it asked
for happens. Button data is forged by feeding presses whose data no message ever carried.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.app import App
from bot.i18n import translator
from bot.services import review
from bot.services.agencies import create_agency, new_code, normalize_code
from bot.settings import Settings
from handlers.access import ADMINS_ONLY, OPERATORS_ONLY, OTHER_AGENCY, PRIVATE_ONLY
from handlers.agency import VOIDED, NewInvite
from handlers.review import Decide, NoteChoice, RejectFor
from storage.clock import utcnow
from storage.models import AuditEntry
from storage.models import Person as Stored
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import drained, people
from tests.integration.signup import Answers, sign_up

OPERATOR = "100"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"operators": (f"fake:{OPERATOR}",)})


async def new_agency(app: App, name: str) -> tuple[int, str]:
    async with app.store.unit_of_work() as uow:
        agency, invite = await create_agency(uow, name, "cli")
    return agency.id, invite.code


async def admin_of(app: App, platform: FakePlatform, name: str, user_id: str) -> Person:
    _, code = await new_agency(app, name)
    admin = Person(platform, user_id=user_id)
    await admin.say(f"/agency {code}")
    return admin


async def applicant(app: App, platform: FakePlatform, user_id: str, **answers: Any) -> Stored:
    person = Person(platform, user_id=user_id)
    await sign_up(person, replace(Answers(), **answers))
    stored: Stored | None = await people(app).by_account(platform.name, user_id)
    assert stored is not None
    assert stored.status == "applicant"
    return stored


async def audit_rows(app: App) -> list[AuditEntry]:
    async with app.store.reading() as uow:
        return await uow.audit.tail(1000)


async def forge(person: Person, data: str) -> str:
    [reply] = await person.press_forged(data)
    return reply.text


def test_codes_are_typed_forgivingly() -> None:
    code = new_code()
    assert len(code) == 14
    assert normalize_code(code.lower().replace("-", " ")) == code
    assert normalize_code("  nonsense ") == "NONSENSE"


async def test_an_invite_makes_an_admin_who_invites_the_next(
    app: App, platform: FakePlatform
) -> None:
    agency_id, code = await new_agency(app, "Acme Media")
    ola = Person(platform, user_id="50", language_hint="pl")
    [joined] = await ola.say(f"/agency {code.lower()}")
    assert joined.text == translator("pl")._(
        "You are now an admin of {agency}. Send /invite to make a code for another admin, "
        "and /help to see what you can do.",
        agency="Acme Media",
    )
    [help_text] = await ola.say("/help")
    assert "/invite" in help_text.text
    assert "/review" not in help_text.text

    stranger = Person(platform, user_id="51")
    [used] = await stranger.say(f"/agency {code}")
    assert used.text.startswith("That invite code has been used already.")
    [guest_help] = await stranger.say("/help")
    assert "/invite" not in guest_help.text
    assert "/agency" not in guest_help.text

    [invite] = await ola.say("/invite")
    second = next(word for word in invite.text.split() if word.count("-") == 2 and len(word) == 14)
    assert ola.labels(invite) == [translator("pl")._("Another code")]
    [again] = await ola.press_data(NewInvite(agency=agency_id).pack())
    third = next(word for word in again.text.split() if word.count("-") == 2 and len(word) == 14)
    assert third != second

    [welcome] = await stranger.say(f"/agency {second}")
    assert welcome.text.startswith("You are now an admin of Acme Media.")
    async with app.store.reading() as uow:
        admins = await uow.agencies.admins(agency_id)
    assert [admin.account for admin in admins] == ["fake:50", "fake:51"]

    rows = [(r.actor, r.action, r.outcome, r.detail) for r in await audit_rows(app)]
    assert rows == [
        ("cli", "agency.create", "allowed", ""),
        ("cli", "agency.invite", "allowed", ""),
        ("fake:50", "agency.join", "allowed", "joined"),
        ("fake:51", "agency.join", "refused", "used"),
        ("fake:50", "agency.invite", "allowed", ""),
        ("fake:50", "agency.invite", "allowed", ""),
        ("fake:51", "agency.join", "allowed", "joined"),
    ]


async def test_codes_that_do_not_work(app: App, platform: FakePlatform) -> None:
    _, code = await new_agency(app, "Acme")
    _, other_code = await new_agency(app, "Other")
    admin = Person(platform, user_id="60")
    [usage] = await admin.say("/agency")
    assert usage.text.startswith("Send /agency followed by the invite code")
    [unknown] = await admin.say("/agency AAAA-BBBB-CCCC")
    assert unknown.text.startswith("That invite code is not valid.")
    await admin.say(f"/agency {code}")
    [same] = await admin.say(f"/agency {code}")
    assert same.text.startswith("That invite code has been used already.")
    [elsewhere] = await admin.say(f"/agency {other_code}")
    assert elsewhere.text == (
        "You are not allowed to join another agency: you are already an admin of Acme."
    )
    # The refused code is still good for whoever it was meant for.
    [joined] = await Person(platform, user_id="61").say(f"/agency {other_code}")
    assert joined.text.startswith("You are now an admin of Other.")

    async with app.store.unit_of_work() as uow:
        agency = await uow.agencies.get(1)
        assert agency is not None
        await uow.agencies.create_invite(agency.id, "LATE-LATE-LATE", "cli", utcnow())
    [late] = await Person(platform, user_id="62").say("/agency late-late-late")
    assert late.text.startswith("That invite code has expired.")
    refused = [(r.actor, r.detail) for r in await audit_rows(app) if r.outcome == "refused"]
    assert refused == [
        ("fake:60", "unknown"),
        ("fake:60", "used"),
        ("fake:60", "admin_elsewhere"),
        ("fake:62", "expired"),
    ]


async def test_review_shows_flagged_first_and_approval_welcomes(
    app: App, platform: FakePlatform
) -> None:
    first = await applicant(app, platform, "1", name="Anna", handle="anna.insta")
    flagged = await applicant(
        app, platform, "2", name="Impostor", handle="anna.insta", payout="imp@example.com"
    )
    operator = Person(platform, user_id=OPERATOR)
    [header, flagged_card, first_card] = await operator.say("/review")
    assert header.text == "Applicants waiting for review, flagged ones first:"
    assert flagged_card.text.startswith(f"Applicant #{flagged.id}: Impostor")
    assert "Followers in total: 12,000 (the minimum is 1,000)" in flagged_card.text
    assert "Flagged for review:\n⚠ instagram:anna.insta is also claimed by another person" in (
        flagged_card.text
    )
    assert first_card.text.startswith(f"Applicant #{first.id}: Anna")
    assert "Flagged" not in first_card.text
    assert operator.labels(first_card) == ["Approve", "Reject"]

    [done] = await operator.press_stale(Decide(decision="approve", person=first.id).pack())
    assert done.text == f"Approved: applicant #{first.id}. They get a welcome message now."
    assert done.edit_message_id is not None
    await drained(app)
    anna = Person(platform, user_id="1")
    assert anna.last_text.startswith("Welcome to the programme, Anna: your application is")
    stored = await people(app).get(first.id)
    assert stored is not None
    assert stored.status == "approved"

    # Pressed again (or by a second operator): decided already, nothing sent twice.
    [again] = await operator.press_stale(Decide(decision="approve", person=first.id).pack())
    assert again.text == f"Applicant #{first.id} was decided already: nothing changed."
    await drained(app)
    assert sum(m.text.startswith("Welcome to the programme") for m in anna.inbox) == 1
    actions = [(r.actor, r.action, r.outcome, r.target) for r in await audit_rows(app)]
    assert (f"fake:{OPERATOR}", "review.queue", "allowed", "") in actions
    assert (f"fake:{OPERATOR}", "review.approve", "allowed", f"person:{first.id}") in actions
    assert (f"fake:{OPERATOR}", "review.approve", "refused", f"person:{first.id}") in actions

    [_, only] = await operator.say("/review")
    assert only.text.startswith(f"Applicant #{flagged.id}")


async def test_rejection_sends_the_reason_translated_and_the_note_as_written(
    app: App, platform: FakePlatform
) -> None:
    ewa = await applicant(app, platform, "3", name="Ewa", language="pl")
    operator = Person(platform, user_id=OPERATOR, language_hint="fr")
    await operator.say("/review")
    [reasons] = await operator.press_data(Decide(decision="reject", person=ewa.id).pack())
    fr = translator("fr")
    assert reasons.text.startswith(f"Pourquoi la candidature n° {ewa.id} (Ewa)")
    assert operator.labels(reasons) == [fr._(label) for label in review.REJECTION_LABELS.values()]
    [ask] = await operator.press_data(RejectFor(person=ewa.id, reason="authenticity").pack())
    assert ask.text.startswith(f"Refus de la candidature n° {ewa.id} : Faux abonnés")

    note = "Your *stats* <b>jumped</b> 10x & back in May: [see](https://x.y) {name}"
    [done] = await operator.say(note)
    assert done.text == fr._(
        "Rejected: applicant #{id}. They get the reason and your note now.", id=ewa.id
    )
    await drained(app)
    pl = translator("pl")
    message = Person(platform, user_id="3").last_text
    assert message == (
        pl._(review.REJECTED, name="Ewa", reason=pl._(review.REJECTION_REASONS["authenticity"]))
        + f"\n\n{pl._(review.NOTE)}\n{note}"
    )
    assert "Nie udało nam się potwierdzić" in message
    stored = await people(app).get(ewa.id)
    assert stored is not None
    assert (stored.status, stored.status_reason) == ("rejected", "authenticity")
    [row] = [r for r in await audit_rows(app) if r.action == "review.reject"]
    assert (row.outcome, row.person_id, row.detail) == ("allowed", ewa.id, "authenticity")


async def test_a_rejection_without_a_note_and_one_cancelled(
    app: App, platform: FakePlatform
) -> None:
    kept = await applicant(app, platform, "4", name="Kept", handle="kept")
    gone = await applicant(app, platform, "5", name="Gone", handle="gone")
    operator = Person(platform, user_id=OPERATOR)
    await operator.say("/review")
    await operator.press_stale(Decide(decision="reject", person=kept.id).pack())
    await operator.press_data(RejectFor(person=kept.id, reason="content").pack())
    [cancelled] = await operator.press_data(NoteChoice(choice="cancel").pack())
    assert cancelled.text == f"Cancelled: applicant #{kept.id} is still waiting for review."

    await operator.press_stale(Decide(decision="reject", person=gone.id).pack())
    await operator.press_data(RejectFor(person=gone.id, reason="region").pack())
    # A command while the note is asked for is a command, not the note; then it is asked again.
    [help_text, asked_again] = await operator.say("/help")
    assert help_text.text.startswith("Commands:")
    assert "/review" in help_text.text
    assert asked_again.text.startswith(f"Rejecting applicant #{gone.id}")
    [done] = await operator.press_data(NoteChoice(choice="none").pack())
    assert done.text == f"Rejected: applicant #{gone.id}. They get the reason now."
    await drained(app)
    assert Person(platform, user_id="5").last_text.endswith(
        "The reason: The programme is not open to creators in your country yet."
    )
    still = await people(app).get(kept.id)
    assert still is not None
    assert still.status == "applicant"
    [stale] = await operator.press_stale(NoteChoice(choice="none").pack())
    assert stale.text.startswith("That button belongs to an earlier question.")
    assert await forge(operator, "rvr:1:not_a_reason") == "You are not allowed to do this."
    assert await forge(operator, "rv:approve:x") == "You are not allowed to do this."


GROUP_CHAT = "-900"
ACTORS = {
    # name: (user id, language, private chat)
    "guest": ("70", "ru", True),
    "influencer": ("90", "es", True),
    "admin_of_another_agency": ("72", "pl", True),
    # An operator who is an admin of the agency too, in a group.
    "in_a_group": (OPERATOR, "fr", False),
}
MATRIX = [
    (actor, action, expected)
    for actor, refusals in {
        "guest": {
            "review": OPERATORS_ONLY,
            "approve": OPERATORS_ONLY,
            "reject_press": OPERATORS_ONLY,
            "reject": OPERATORS_ONLY,
            "invite": ADMINS_ONLY,
            "another_code": ADMINS_ONLY,
        },
        "influencer": {
            "review": OPERATORS_ONLY,
            "approve": OPERATORS_ONLY,
            "reject_press": OPERATORS_ONLY,
            "reject": OPERATORS_ONLY,
            "invite": ADMINS_ONLY,
            "another_code": ADMINS_ONLY,
        },
        "admin_of_another_agency": {
            "review": OPERATORS_ONLY,
            "approve": OPERATORS_ONLY,
            "reject_press": OPERATORS_ONLY,
            "reject": OPERATORS_ONLY,
            "another_code": OTHER_AGENCY,
        },
        "in_a_group": {
            "review": PRIVATE_ONLY,
            "approve": PRIVATE_ONLY,
            "reject_press": PRIVATE_ONLY,
            "reject": PRIVATE_ONLY,
            "invite": PRIVATE_ONLY,
            "another_code": PRIVATE_ONLY,
            "join": PRIVATE_ONLY,
        },
    }.items()
    for action, expected in refusals.items()
]
AUDITED_AS = {
    "review": "review.queue",
    "approve": "review.approve",
    "reject_press": "review.reject",
    "reject": "review.reject",
    "invite": "agency.invite",
    "another_code": "agency.invite",
    "join": "agency.join",
}


@pytest.mark.parametrize(("actor", "action", "expected"), MATRIX)
async def test_refused_in_the_askers_language_audited_and_without_effect(
    app: App, platform: FakePlatform, actor: str, action: str, expected: str
) -> None:
    agency_id, code = await new_agency(app, "Acme")
    await Person(platform, user_id=OPERATOR).say(f"/agency {code}")
    await admin_of(app, platform, "Other", "72")
    waiting = await applicant(app, platform, "90", name="Ines", language="es")
    _, spare_code = await new_agency(app, "Spare")
    user_id, language, private = ACTORS[actor]
    asker = Person(
        platform,
        user_id=user_id,
        language_hint=language,
        is_private=private,
        chat_id=None if private else GROUP_CHAT,
    )
    before = len(Person(platform, user_id="90").inbox)
    audited = len(await audit_rows(app))

    if action == "review":
        [reply] = await asker.say("/review")
    elif action == "invite":
        [reply] = await asker.say("/invite")
    elif action == "join":
        # Everyone in the group read the code: it is spent, and the asker told so.
        [reply, voided] = await asker.say(f"/agency {spare_code}")
        assert voided.text == translator(language)._(VOIDED)
    else:
        data = {
            "approve": Decide(decision="approve", person=waiting.id),
            "reject_press": Decide(decision="reject", person=waiting.id),
            "reject": RejectFor(person=waiting.id, reason="content"),
            "another_code": NewInvite(agency=agency_id),
        }[action].pack()
        [reply] = await asker.press_forged(data)

    assert reply.text == translator(language)._(expected)
    entry, *also = (await audit_rows(app))[audited:]
    assert [(e.action, e.outcome) for e in also] == (
        [("agency.void_invite", "allowed")] if action == "join" else []
    )
    assert (entry.actor, entry.action, entry.outcome) == (
        f"fake:{user_id}",
        AUDITED_AS[action],
        "refused",
    )
    # Nothing happened: no decision, no message to the applicant, no code made or spent.
    await drained(app)
    stored = await people(app).get(waiting.id)
    assert stored is not None
    assert stored.status == "applicant"
    # (The influencer's own refusal is the one message they got.)
    assert len(Person(platform, user_id="90").inbox) == before + (user_id == "90")
    async with app.store.reading() as uow:
        listing = {item.agency.name: item for item in await uow.agencies.all()}
    assert listing["Acme"].open_invites == 0
    assert listing["Spare"].open_invites == (0 if action == "join" else 1)


async def test_an_operator_approves_in_a_private_chat_only_for_real_applicants(
    app: App, platform: FakePlatform
) -> None:
    operator = Person(platform, user_id=OPERATOR)
    assert await forge(operator, Decide(decision="approve", person=999).pack()) == (
        "There is no applicant #999."
    )
    [entry] = await audit_rows(app)
    assert (entry.action, entry.outcome, entry.detail) == ("review.approve", "refused", "unknown")
    [empty] = await operator.say("/review")
    assert empty.text == "No applicants are waiting for review."


def test_the_note_limit_keeps_a_rejection_within_one_message() -> None:
    longest_reason = max(
        len(translator(lang)._(reason))
        for lang in ("en", "ru", "fr", "es", "pl")
        for reason in review.REJECTION_REASONS.values()
    )
    assert longest_reason + review.MAX_NOTE + 400 < 2000  # Discord's limit, Telegram's 4096


async def test_a_new_agency_comes_with_a_code_for_a_week(app: App) -> None:
    async with app.store.unit_of_work() as uow:
        agency, invite = await create_agency(uow, "Acme", "cli")
        assert invite.expires_at - utcnow() > timedelta(days=6, hours=23)
        assert invite.agency_id == agency.id


async def test_a_language_chosen_with_language_survives_a_rejection(
    app: App, platform: FakePlatform
) -> None:
    waiting = await applicant(app, platform, "6", name="Lea", handle="lea")
    operator = Person(platform, user_id=OPERATOR, language_hint="en")
    await operator.say("/language")
    await operator.press_data("setlang:fr")
    await operator.say("/review")
    await operator.press_data(Decide(decision="reject", person=waiting.id).pack())
    [ask] = await operator.press_data(RejectFor(person=waiting.id, reason="content").pack())
    assert ask.text.startswith(f"Refus de la candidature n° {waiting.id}")
    [done] = await operator.say("Merci")
    assert done.text.startswith(f"Candidature n° {waiting.id} refusée.")
    [after] = await operator.say("/help")
    assert after.text.startswith(translator("fr")._("Commands:"))


async def test_a_decision_and_its_message_commit_together_or_not_at_all(
    app: App, platform: FakePlatform
) -> None:
    waiting = await applicant(app, platform, "7", name="Zoe", handle="zoe")

    async def approve_then_fail() -> None:
        async with app.store.unit_of_work() as uow:
            assert await review.approve(uow, waiting.id, "cli") == "done"
            raise RuntimeError("the process died before the commit")

    with pytest.raises(RuntimeError):
        await approve_then_fail()
    [[queued]] = await app.store.db.fetchall(
        "SELECT COUNT(*) FROM deliveries WHERE dedupe_key LIKE 'review:%'"
    )
    assert queued == 0
    assert not [row for row in await audit_rows(app) if row.action.startswith("review.")]
    still = await people(app).get(waiting.id)
    assert still is not None
    assert still.status == "applicant"

    async with app.store.unit_of_work() as uow:
        assert await review.approve(uow, waiting.id, "cli") == "done"
    [[queued]] = await app.store.db.fetchall(
        "SELECT COUNT(*) FROM deliveries WHERE dedupe_key LIKE 'review:%'"
    )
    assert queued == 1


async def test_an_invite_lapses_at_a_time_in_the_admins_own_zone(
    app: App, platform: FakePlatform
) -> None:
    """Seven days from the test's instant (15:00 UTC): 16:00 in Berlin, where the admin who
    signed up lives; UTC for one with no profile to say where they are."""
    agency_id, code = await new_agency(app, "Acme Media")
    anna = Person(platform, user_id="60")
    await sign_up(anna)
    await anna.say(f"/agency {code}")
    [invite] = await anna.say("/invite")
    assert "until Dec 16, 2026, 4:00\u202fPM (Europe/Berlin)." in invite.text
    assert "Telegram" not in invite.text
    assert "Discord" not in invite.text
    [again] = await anna.press_data(NewInvite(agency=agency_id).pack())
    assert "(Europe/Berlin)" in again.text

    _, code = await new_agency(app, "Beta")
    ola = Person(platform, user_id="61", language_hint="pl")
    await ola.say(f"/agency {code}")
    [invite] = await ola.say("/invite")
    pl = translator("pl")
    assert f"{pl.datetime(utcnow() + timedelta(days=7))} (UTC)." in invite.text


async def test_help_lists_what_an_admin_can_use_here(app: App, platform: FakePlatform) -> None:
    """/agency does nothing more for an admin; a platform with no groups to ask about (the
    fake one, as the console) has nothing to link."""
    admin = await admin_of(app, platform, "Acme Media", "70")
    [help_text] = await admin.say("/help")
    listed = {line.split(" ")[0] for line in help_text.text.splitlines()[1:]}
    assert {"/invite", "/campaigns", "/newcampaign"} <= listed
    assert not listed & {"/agency", "/linkgroup", "/unlinkgroup"}
    [told] = await admin.say("/agency")
    assert told.text.startswith("Send /agency followed by the invite code")
