"""Platform-free flows: they see Incoming events and answer with Outgoing messages."""

from bot.core.router import Router
from handlers import agency, campaigns, commands, groups, offer_links, review


def build_router() -> Router:
    root = Router()
    root.include(commands.router)
    root.include(agency.router)
    root.include(review.router)
    root.include(campaigns.router)
    root.include(groups.router)
    root.include(offer_links.router)
    return root
