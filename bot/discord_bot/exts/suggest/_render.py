"""The words of a /suggest reply: status lines, the matched tastes and the endings."""

from __future__ import annotations

from bot.discord_bot import escaped
from bot.discord_bot.error_handler import describe_error
from bot.discord_bot.reactions import DISLIKE, KEYCAPS, LIKE
from bot.pipeline.events import Failed, Finished, PickDraft, Retrieved

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
NO_NEW_PICKS = "No new picks this time: try asking differently."


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
    if event.liked_titles or event.avoided_titles:
        lines.append(learning(event))
    return "\n".join(lines)


def learning(event: Retrieved) -> str:
    """How the member's ratings shaped this answer."""
    liked = len(event.liked_titles)
    return (
        f"Learning from your ratings: {liked} liked pick{'' if liked == 1 else 's'} as "
        f"examples, {event.avoided_titles} title{'' if event.avoided_titles == 1 else 's'} "
        "kept out."
    )


def picks_text(picks: tuple[PickDraft, ...]) -> str:
    """The picks so far, each growing: the title first, then the rest as it is written."""
    return "\n\n".join(pick_text(number, pick) for number, pick in enumerate(picks, 1))


def pick_text(number: int, pick: PickDraft) -> str:
    # The model's words are shown as text, never as markdown it happened to write.
    text = f"**{number}. {escaped(pick.title)}**"
    details = [str(part) for part in (pick.year, pick.kind) if part]
    if details:
        text += f" ({' · '.join(details)})"
    if pick.description:
        text += f"\n{escaped(pick.description)}"
    if pick.reasoning:
        text += f"\n*Why:* {escaped(pick.reasoning)}"
    if pick.confidence is not None:
        text += f"\n*Confidence:* {pick.confidence:.0%}"
    return text


def finished(event: Finished) -> str:
    """The ending of an answer the model ended, or the length limit cut: repeats left
    out, and how to rate the picks."""
    lines = [CUT_BY_LENGTH] if event.is_cut else []
    if not event.is_structured:
        return "\n".join([*lines, RATE_PROMPT])
    if event.left_out:
        lines.append(
            f"Left out {event.left_out} pick{'' if event.left_out == 1 else 's'} you "
            "disliked, have seen or were suggested lately."
        )
    if not event.picks:
        lines.append(NO_NEW_PICKS)
        return "\n".join(lines)
    last_keycap = KEYCAPS[min(len(event.picks), len(KEYCAPS)) - 1]
    lines.append(
        f"Rate every pick with {LIKE} or {DISLIKE}, like one with its number "
        f"({KEYCAPS[0]}–{last_keycap}), or use `/rate` to say you have seen one. "
        "Your ratings shape your next picks."
    )
    return "\n".join(lines)


def failed(event: Failed) -> str:
    """The ending of an answer that broke off, or never started."""
    text = f"⚠️ {describe_error(event.error)}"
    if event.text:
        text += " What arrived before the problem is kept above."
    return text
