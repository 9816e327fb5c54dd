"""The fixed lists the programme is built on: topics, consent wording, field groups."""

from __future__ import annotations

from typing import Final

from bot.i18n import N_, NC_

NICHES: Final = {
    "fashion": N_("Fashion"),
    "beauty": N_("Beauty"),
    "tech": N_("Tech"),
    "gaming": N_("Gaming"),
    "home": N_("Home"),
    "sports": N_("Sports"),
    "food": N_("Food"),
    "travel": N_("Travel"),
    "kids": N_("Kids"),
    "pets": N_("Pets"),
    "auto": N_("Auto"),
    "other": N_("Other"),
}

PAYOUT_METHODS: Final = {"paypal": N_("PayPal"), "iban": N_("Bank transfer (IBAN)")}

# Bump the version whenever the wording changes: people consent to a specific text.
CONSENT_VERSION: Final = "2026-11-01"
CONSENT_TEXT: Final = N_(
    "Terms of the programme (version {version})\n\n"
    "We store your name, country, time zone, language, the social accounts and follower "
    "counts you give us, your topics and your payout details. We use them to match you with "
    "brand campaigns, to check that accounts are genuine, to track your earnings and to pay "
    "you. Payout details are encrypted and only ever shown masked. We never sell your data. "
    "You can change your answers at any time with /edit.\n\n"
    "Do you agree?"
)

# Command names for menus that show localized names; what the bot receives is the English one.
LOCALIZED_COMMAND_NAMES: Final = (
    NC_("command name", "start"),
    NC_("command name", "cancel"),
    NC_("command name", "back"),
    NC_("command name", "profile"),
    NC_("command name", "edit"),
    NC_("command name", "language"),
    NC_("command name", "help"),
)
