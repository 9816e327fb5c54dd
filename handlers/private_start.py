"""Signing up from a group needs a private chat the bot can write to.

A platform offers a group member a way into a private chat with the bot in
``private_chat_url`` (Telegram's deep link, a link to the Discord DM). When it has none to
offer and the person's private chat refused the bot's messages (Discord DMs closed to server
members), opening one is up to them: say how, rather than point at a chat that stays silent.
"""

from __future__ import annotations

from bot.core.context import Context
from bot.i18n import N_

DMS_CLOSED = N_(
    "I can't send you direct messages. Please allow direct messages from server members in "
    "this server's privacy settings, then try again."
)


async def no_way_in(ctx: Context) -> bool:
    """Outside a private chat, with no link into one and a private chat that refuses the
    bot: explain how to allow direct messages. True when that was the answer."""
    incoming = ctx.incoming
    if incoming.is_private or incoming.private_chat_url is not None:
        return False
    user = incoming.user
    account = await ctx.uow.people.account(user.platform, user.user_id)
    if account is None or account.reachable:
        return False
    # Nothing private in it: shown where it was asked (to the asker alone on Discord).
    ctx.reply(ctx._(DMS_CLOSED))
    return True
