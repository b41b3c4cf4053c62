"""The per-channel write windows of /suggest replies: shared by a channel, and bounded."""

from __future__ import annotations

from bot.discord_bot.exts.suggest import ChannelWindows
from bot.discord_bot.streaming import WriteBudget

BUDGET = WriteBudget(writes=5, window=1.0)


def test_replies_in_one_channel_share_its_window() -> None:
    windows = ChannelWindows(BUDGET)
    assert windows.of(1) is windows.of(1)
    assert windows.of(1) is not windows.of(2)


def test_only_the_most_recently_used_channels_are_kept() -> None:
    windows = ChannelWindows(BUDGET, limit=3)
    first = windows.of(1)
    for channel in (2, 3):
        windows.of(channel)
    assert windows.of(1) is first  # used again: now the most recent
    windows.of(4)  # channel 2, the least recently used, goes
    assert len(windows) == 3
    assert windows.of(1) is first
    assert len(windows) == 3
    for channel in range(100, 200):
        windows.of(channel)
    assert len(windows) == 3
