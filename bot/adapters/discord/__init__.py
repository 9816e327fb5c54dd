"""The Discord adapter's parts; ``bot.adapters.discord_adapter.DiscordPlatform`` joins them.

Along their jobs, as the Telegram adapter's: ``receiving`` (gateway events to the core in
arrival order; DMs written while the bot was down read at start), ``sending`` (paced, resumable
sends and edits, refusals as the core's errors), ``interactions`` (acknowledged at once, then
the fast lane for replies), ``commands`` (the slash-command menus). Helpers: ``render`` turns an
Outgoing into Discord messages, ``client`` is the discord.py Client and the components that
survive restarts, ``ratelimit`` the budgets that keep under Discord's limits.

discord.py imports the standard library's ``audioop`` for voice, which this bot never uses, and
Python 3.11+ warns about that on import. Importing the library here first, with exactly that
warning silenced, keeps it out of logs and out of test runs that turn warnings into errors.
"""

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", r"'audioop' is deprecated", DeprecationWarning)
    import discord

# Voice is never used, so its missing optional libraries (PyNaCl, davey) are not worth a warning.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False
