"""Tests of the Discord front end (mirrors bot/discord_bot)."""
