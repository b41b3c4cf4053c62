"""/help: private, and complete however long it grows."""

from __future__ import annotations

import importlib

import pytest

from tests.discord_bot.conftest import Harness


async def test_help_is_private_and_names_every_command(harness: Harness) -> None:
    reply = harness.private_reply(await harness.slash("help"))
    for command in ("/prefer", "/suggest", "/rate", "/history", "/watchlist", "/import"):
        assert command in reply


async def test_help_longer_than_one_message_arrives_whole_in_several(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    paragraphs = [f"Paragraph {n}: " + "words " * 60 for n in range(12)]
    # The extension as the bot loaded it (discord.py loads a fresh module object).
    loaded = importlib.import_module("bot.discord_bot.exts.help")
    monkeypatch.setattr(loaded, "HELP_TEXT", "\n\n".join(paragraphs))

    interaction = await harness.slash("help")

    replies = harness.fake.replies(interaction.token)
    assert len(replies) > 1
    assert all(reply.is_ephemeral and len(reply.content) <= 2000 for reply in replies)
    for paragraph in paragraphs:
        assert paragraph.strip() in harness.private_reply(interaction)
