"""``make bench``: kolbot's throughput, delivery and memory measured against their goals.

Run ``python -m bench --help``. Each workload drives the real bot as a subprocess against a fake
Bot API in this process, so the figures are the bot's own; see DESIGN.md and issue 7 for why
these goals.
"""
