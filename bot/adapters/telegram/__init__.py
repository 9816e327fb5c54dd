"""The Telegram adapter's parts; ``bot.adapters.telegram_adapter.TelegramPlatform`` joins them.

Each module does one thing without I/O where it can, so it can be tested on its own:
``render`` turns an Outgoing into Bot API arguments, ``inbound`` turns an Update into an
Incoming, ``chats`` orders work per chat, ``intake`` keeps the getUpdates offset at the oldest
unhandled update, ``pacing`` keeps sends under Telegram's limits, ``request`` is the HTTP
client, ``redact`` keeps the token out of logs.
"""

import os

# PTB 22 warns on every flood-control error (RetryAfter) unless the process opts in to the
# timedelta durations that become the default in PTB 23. kolbot reads Telegram durations only
# in this adapter, which accepts both forms, so it opts in rather than warn on each 429.
os.environ.setdefault("PTB_TIMEDELTA", "true")
