"""Discord: the platform the CLI starts when KOLBOT_DISCORD_TOKEN is set.

The implementation lives in the ``bot.adapters.discord`` package; this module is its entry point.
"""

from bot.adapters.discord.adapter import DiscordPlatform
from bot.adapters.discord.render import embed_for

__all__ = ["DiscordPlatform", "embed_for"]
