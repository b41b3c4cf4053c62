"""The Discord front end: a thin adapter over the shared pipeline."""

import discord

# Every send and edit uses this: text from tastes or from the model that contains
# @everyone, a role or a user mention must never notify anyone.
NO_PINGS = discord.AllowedMentions.none()
