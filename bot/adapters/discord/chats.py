"""What Discord says about a server channel: whether someone may manage it (Administrator, or
Manage Channels there once its overwrites are applied). The check before an agency links a
channel as a broadcast target."""

from __future__ import annotations

import logging

import discord

from bot.adapters.discord.sending import address
from bot.core.messages import ChatRef
from bot.core.platform import BadRequest

log = logging.getLogger(__name__)


async def is_channel_admin(client: discord.Client, chat: ChatRef, user_id: str) -> bool:
    """Permissions as Discord computes them: the member's roles, then the channel's
    overwrites (``permissions_for``); the member is fetched, as the members intent is off."""
    try:
        kind, channel_id = address(chat)
    except BadRequest:
        return False
    if kind != "channel":
        return False
    try:
        channel = client.get_channel(channel_id) or await client.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.GuildChannel):
            return False
        guild = channel.guild
        if user_id == "self":
            if client.user is None:
                return False
            user_id = str(client.user.id)
        member = guild.get_member(int(user_id)) or await guild.fetch_member(int(user_id))
    except (discord.HTTPException, ValueError) as error:
        log.info("discord could not tell who manages channel %s: %s", channel_id, error)
        return False
    permissions = channel.permissions_for(member)
    return permissions.administrator or permissions.manage_channels
