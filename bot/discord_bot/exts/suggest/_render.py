"""The words of a /suggest reply: status lines, the matched tastes and the endings."""

from __future__ import annotations

from bot.discord_bot import escaped
from bot.discord_bot.error_handler import describe_error
from bot.pipeline.events import Failed, Finished, Retrieved

RATE_PROMPT = "Rate these picks with 👍 or 👎."
STOPPED = "⏹️ Stopped. What was written so far is kept."
BROKEN = "⚠️ This answer broke off because of an error on my side."
ALREADY_RUNNING = (
    "You already have a suggestion being written. "
    "Wait for it to finish, or press its **Stop** button, then ask again."
)
CUT_BY_LENGTH = (
    "✂️ This answer was cut off by the length limit, so it stops mid-way. "
    "Ask for fewer picks to get a complete answer."
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


def request_line(query: str, count: int) -> str:
    """The header of a reply whose answer never started (the wait or retrieval ended it)."""
    return f"🎬 **{picks(count)} for “{escaped(query)}”**"


def waiting(place: int, limit: int) -> str:
    ahead = "you are next" if place == 1 else f"you are number {place} in line"
    return (
        f"⏳ Waiting for a free slot: {limit} suggestion(s) are being written right now "
        f"(at most {limit} at once), and {ahead}. Yours starts as soon as a slot is free."
    )


def finished(event: Finished) -> str:
    """The ending of an answer the model ended, or the length limit cut."""
    if event.is_cut:
        return f"{CUT_BY_LENGTH}\n{RATE_PROMPT}"
    return RATE_PROMPT


def retrieved(event: Retrieved) -> str:
    """The header: what was asked and which of the member's tastes shape the answer."""
    lines = [request_line(event.query, event.count)]
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
