"""APScheduler wiring: batch jobs, never one job per person.

``coalesce`` runs a job once after downtime instead of once per missed slot, and the hour of
``misfire_grace_time`` keeps a late job from being silently skipped (the default is 1 s).
"""

from __future__ import annotations

from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.services import Services
from jobs.campaigns import close_ended_campaigns, publish_campaigns, settle_campaigns
from jobs.maintenance import (
    purge_expired_conversations,
    purge_handled_updates,
    purge_sent_messages,
)
from jobs.offer_alerts import send_digests, send_reminders

JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1}


def build_scheduler(services: Services) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)
    scheduler.add_job(
        purge_expired_conversations, "interval", hours=1, args=[services], id="purge_conversations"
    )
    scheduler.add_job(
        purge_handled_updates, "interval", hours=6, args=[services], id="purge_updates"
    )
    scheduler.add_job(
        purge_sent_messages, "interval", hours=6, args=[services], id="purge_deliveries"
    )
    # Publishing starts within seconds of a campaign being marked for it, and carries on
    # after a restart; a deadline closes its campaign within the minute.
    scheduler.add_job(publish_campaigns, "interval", seconds=2, args=[services], id="publish")
    # A pause, resume or close settles its first batch of offers at once, the rest here.
    scheduler.add_job(settle_campaigns, "interval", seconds=2, args=[services], id="settle")
    scheduler.add_job(
        close_ended_campaigns, "interval", minutes=1, args=[services], id="close_campaigns"
    )
    # Both find what is due when they run: five minutes late at most, and a restart loses none.
    scheduler.add_job(send_reminders, "interval", minutes=5, args=[services], id="reminders")
    scheduler.add_job(send_digests, "interval", minutes=5, args=[services], id="digests")
    return scheduler
