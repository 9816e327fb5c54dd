"""Signup's first step written the way python-telegram-bot's tutorials write it: the yardstick.

Modelled on PTB's examples/conversationbot.py and persistentconversationbot.py: a
ConversationHandler whose states live in a PicklePersistence file, updates processed one at a
time (the default, and what ConversationHandler expects), ``Application.run_polling``. Only what
a tutorial reader would change is changed: the token and the Bot API address come from the
command line, so the bench can point it at the same fake Bot API as kolbot.

Usage: python tutorial_bot.py TOKEN BASE_URL PERSISTENCE_FILE
"""

from __future__ import annotations

import logging
import sys

from telegram import ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import (
    Application,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)

logging.basicConfig(
    format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.INFO
)
# Set a higher logging level for httpx to avoid all GET and POST requests being logged.
logging.getLogger("httpx").setLevel(logging.WARNING)

logger = logging.getLogger(__name__)

LANGUAGE, NAME = range(2)

LANGUAGES = [["English", "Русский", "Français"], ["Español", "Polski"]]


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Welcome the user and ask for their language."""
    assert update.message is not None
    await update.message.reply_text(
        "Welcome! I will sign you up for the influencer programme: a few questions, about "
        "three minutes. Send /cancel to stop.\n\nChoose your language:",
        reply_markup=ReplyKeyboardMarkup(
            LANGUAGES, one_time_keyboard=True, input_field_placeholder="Your language"
        ),
    )
    return LANGUAGE


async def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Store the chosen language and ask for a name."""
    assert update.message is not None
    if context.user_data is not None:
        context.user_data["language"] = update.message.text
    await update.message.reply_text("What is your name?", reply_markup=ReplyKeyboardRemove())
    return NAME


async def name(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Store the name and end the conversation."""
    assert update.message is not None
    if context.user_data is not None:
        context.user_data["name"] = update.message.text
    await update.message.reply_text(f"Thank you, {update.message.text}! That is all for now.")
    return ConversationHandler.END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Cancel and end the conversation."""
    assert update.message is not None
    await update.message.reply_text("Bye!", reply_markup=ReplyKeyboardRemove())
    return ConversationHandler.END


def main(token: str, base_url: str, persistence_file: str) -> None:
    """Run the bot until SIGINT or SIGTERM."""
    persistence = PicklePersistence(filepath=persistence_file)
    application = (
        Application.builder().token(token).base_url(base_url).persistence(persistence).build()
    )
    conv_handler = ConversationHandler(
        entry_points=[CommandHandler("start", start)],
        states={
            LANGUAGE: [MessageHandler(filters.TEXT & ~filters.COMMAND, language)],
            NAME: [MessageHandler(filters.TEXT & ~filters.COMMAND, name)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="signup",
        persistent=True,
    )
    application.add_handler(conv_handler)
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main(*sys.argv[1:4])
