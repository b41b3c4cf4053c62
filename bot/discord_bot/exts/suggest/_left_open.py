"""Replies a killed bot left mid-stream: at start, each gets its last edit."""

from __future__ import annotations

import logging

import discord

from bot.discord_bot import NO_PINGS
from bot.discord_bot import layout as say
from bot.discord_bot.error_handler import log_fault
from bot.discord_bot.exts.suggest._views import with_ending
from bot.discord_bot.streaming import STILL_WRITING_MARK
from bot.errors import SuggestWatchError
from bot.pipeline.pipeline import Pipeline

log = logging.getLogger(__name__)

# Where a message of a reply is: (message id, channel id or None if unknown).
MessagePlace = tuple[int, int | None]


async def finish_replies_left_open(pipeline: Pipeline, client: discord.Client) -> None:
    """Give every reply a killed bot left mid-stream its last edit: the "still
    writing" mark and the Stop button go, a notice comes, the text stays."""
    try:
        replies = await pipeline.open_replies()
    except SuggestWatchError as exc:
        log_fault(exc, "Looking for replies left open by the last run")
        return
    for left_open in replies:
        await finish_left_open(client, left_open.messages)
        try:
            await pipeline.close_reply(left_open.suggestion_id)
        except SuggestWatchError as exc:
            log_fault(exc, f"Closing the reply of suggestion #{left_open.suggestion_id}")
            return
    if replies:
        log.info("Finished %d answer(s) left open by the last run", len(replies))


async def finish_left_open(client: discord.Client, messages: tuple[MessagePlace, ...]) -> None:
    """Tidy one reply's messages: only the first carries the Stop button and only the
    last the mark (and it gets the notice)."""
    first, last = messages[0], messages[-1]
    for message_id, channel_id in dict.fromkeys((first, last)):
        if channel_id is None:
            continue
        channel = client.get_partial_messageable(channel_id)
        try:
            message = await channel.fetch_message(message_id)
            content = message.content.replace(STILL_WRITING_MARK, "").rstrip()
            if (message_id, channel_id) == last and say.CUT_BY_RESTART not in content:
                content = with_ending(content, say.CUT_BY_RESTART)
            await message.edit(content=content, view=None, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.warning("Could not finish message %d left open: %s", message_id, exc)
