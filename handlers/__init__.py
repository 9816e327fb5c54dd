"""Platform-free flows: they see Incoming events and answer with Outgoing messages."""

from bot.core.router import Router
from handlers import (
    agency,
    alerts,
    campaigns,
    commands,
    groups,
    offer_links,
    offers,
    review,
    submissions,
)


def build_router() -> Router:
    root = Router()
    root.include(commands.router)
    root.include(agency.router)
    root.include(review.router)
    root.include(campaigns.router)
    root.include(groups.router)
    root.include(offer_links.router)
    root.include(offers.router)
    root.include(submissions.router)
    root.include(alerts.router)
    return root
