"""The Discord front end: a thin adapter over the shared pipeline."""

import discord

# Every send and edit uses this: text from tastes or from the model that contains
# @everyone, a role or a user mention must never notify anyone.
NO_PINGS = discord.AllowedMentions.none()


def escaped(member_text: str) -> str:
    """Member text shown as written: markdown (`**`, backticks, `>`, links) and mentions
    are escaped, so a taste or a request cannot restyle or take over a reply."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(member_text))
