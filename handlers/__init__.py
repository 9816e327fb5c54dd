"""Platform-free flows: they see Incoming events and answer with Outgoing messages."""

from bot.core.router import Router
from handlers import commands


def build_router() -> Router:
    root = Router()
    root.include(commands.router)
    return root
