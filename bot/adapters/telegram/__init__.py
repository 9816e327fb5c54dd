"""The Telegram adapter's parts; ``bot.adapters.telegram_adapter.TelegramPlatform`` joins them.

Along their jobs, as the Discord adapter's: ``receiving`` (polling, the webhook route),
``sending`` (paced, escaped, resumable sends and edits), ``interactions`` (button presses
answered at once), ``menus`` (the command menu). Helpers without I/O where they can be:
``render`` turns an Outgoing into Bot API arguments, ``inbound`` an Update into an Incoming,
``pacing`` keeps sends under Telegram's limits, ``request`` is the HTTP client, ``redact``
keeps the token out of logs.
"""

import os

# PTB 22 warns on every flood-control error (RetryAfter) unless the process opts in to the
# timedelta durations that become the default in PTB 23. kolbot reads Telegram durations only
# in this adapter, which accepts both forms, so it opts in rather than warn on each 429.
os.environ.setdefault("PTB_TIMEDELTA", "true")
