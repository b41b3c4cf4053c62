"""Streaming a model's answer into Discord messages as it is written.

- `reply.py`: `StreamedReply`, one per answer, owning its text, its messages and one
  writer task; the contract is in its docstring.
- `pacing.py`: Discord's write budget (`WriteBudget`) and a window shared by the
  messages of one channel (`WriteWindow`).
- `splitting.py`: `split_message`, markdown-aware splitting into messages.
"""

from bot.discord_bot.streaming.pacing import DISCORD_WRITE_BUDGET, WriteBudget, WriteWindow
from bot.discord_bot.streaming.reply import (
    MAX_WRITE_ATTEMPTS,
    STILL_WRITING_MARK,
    SentMessage,
    StreamedReply,
)
from bot.discord_bot.streaming.splitting import MESSAGE_LIMIT, split_message

__all__ = [
    "DISCORD_WRITE_BUDGET",
    "MAX_WRITE_ATTEMPTS",
    "MESSAGE_LIMIT",
    "STILL_WRITING_MARK",
    "SentMessage",
    "StreamedReply",
    "WriteBudget",
    "WriteWindow",
    "split_message",
]
