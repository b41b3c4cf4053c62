"""The words of a /suggest reply: status lines, the matched tastes and the endings."""

from __future__ import annotations

from bot.discord_bot import escaped
from bot.discord_bot.error_handler import describe_error
from bot.pipeline.events import Failed, Retrieved

RATE_PROMPT = "Rate these picks with 👍 or 👎."
STOPPED = "⏹️ Stopped. What was written so far is kept."
BROKEN = "⚠️ This answer broke off because of an error on my side."
ALREADY_RUNNING = (
    "You already have a suggestion being written. "
    "Wait for it to finish, or press its **Stop** button, then ask again."
)
CUT_BY_RESTART = "⏹️ This answer was cut short when the bot restarted. Ask again with `/suggest`."
RESTARTING = (
    "⏹️ The bot is restarting, so this answer stops here; what was written is kept. "
    "Ask again with `/suggest` in a minute."
)
RESTARTING_TRY_LATER = "The bot is restarting right now. Ask again with `/suggest` in a minute."
ONLY_THE_ASKER = "Only the member who asked for this suggestion can stop it."


def picks(count: int) -> str:
    return "1 pick" if count == 1 else f"{count} picks"


def searching(query: str, count: int) -> str:
    return f"🔎 Looking for {picks(count)} for “{escaped(query)}”…"


def waiting(running: int, limit: int) -> str:
    return (
        f"⏳ Waiting for a free slot: {running} suggestion(s) are being written right now "
        f"(at most {limit} at once). Yours starts as soon as one finishes."
    )


def retrieved(event: Retrieved) -> str:
    """The header: what was asked and which of the member's tastes shape the answer."""
    lines = [f"🎬 **{picks(event.count)} for “{escaped(event.query)}”**"]
    if event.matches:
        lines.append(f"Matched {len(event.matches)} of your tastes:")
        lines += [f"> `{match.score:.2f}` {escaped(match.text)}" for match in event.matches]
    elif event.has_tastes:
        lines.append("None of your tastes matched this request closely.")
    else:
        lines.append(
            "You have no tastes yet, so these picks come from your request alone. "
            "Add some with `/prefer`."
        )
    return "\n".join(lines)


def failed(event: Failed) -> str:
    """The ending of an answer that broke off, or never started."""
    text = f"⚠️ {describe_error(event.error)}"
    if event.text:
        text += " What arrived before the problem is kept above."
    return text
