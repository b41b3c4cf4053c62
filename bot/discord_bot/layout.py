"""Discord's layout of what `bot.presentation` says (markdown, emoji), and the words
only a Discord reply needs: its status lines, the Stop button's answers, restarts."""

from __future__ import annotations

from bot import presentation as say
from bot.discord_bot import escaped
from bot.discord_bot.error_handler import describe_error
from bot.discord_bot.reactions import DISLIKE, KEYCAPS, LIKE
from bot.pipeline.domain import PickDraft, Rating
from bot.pipeline.events import Failed, Finished, Retrieved
from bot.presentation import Marks


def code_span(text: str) -> str:
    """`text` as inline code, safe from breaking out of its span."""
    return "`" + text.replace("`", "ʹ") + "`"


DISCORD = Marks(
    strong=lambda text: f"**{text}**",
    emphasis=lambda text: f"*{text}*",
    code=code_span,
    quote=lambda text: f"> {text}",
    member_text=escaped,
    rating_icons={Rating.LIKED: LIKE, Rating.NOT_FOR_ME: DISLIKE, Rating.SEEN: "👁️"},
)

RATE_PROMPT = f"Rate these picks with {LIKE} or {DISLIKE}."
STOPPED = f"⏹️ {say.STOPPED}"
BROKEN = "⚠️ This answer broke off because of an error on my side."
ALREADY_RUNNING = (
    "You already have a suggestion being written. "
    "Wait for it to finish, or press its **Stop** button, then ask again."
)
CUT_BY_LENGTH = f"✂️ {say.CUT_BY_LENGTH}"
CUT_BY_RESTART = "⏹️ This answer was cut short when the bot restarted. Ask again with `/suggest`."
RESTARTING = (
    "⏹️ The bot is restarting, so this answer stops here; what was written is kept. "
    "Ask again with `/suggest` in a minute."
)
RESTARTING_TRY_LATER = "The bot is restarting right now. Ask again with `/suggest` in a minute."
ONLY_THE_ASKER = "Only the member who asked for this suggestion can stop it."
ADD_TASTE = "`/prefer`"


def request_line(query: str, count: int) -> str:
    """The first line of a reply: how many picks for what (the count as shown, once known)."""
    return f"🎬 {DISCORD.strong(say.request_heading(query, count, DISCORD))}"


def waiting(place: int, limit: int) -> str:
    """The status of a request waiting for a free slot."""
    ahead = "you are next" if place == 1 else f"you are number {place} in line"
    return (
        f"⏳ Waiting for a free slot: {limit} suggestion(s) are being written right now "
        f"(at most {limit} at once), and {ahead}. Yours starts as soon as a slot is free."
    )


def retrieved(event: Retrieved, shown: int | None = None) -> str:
    """The header: what was asked (`shown` picks, once known) and which of the member's
    tastes shape the answer."""
    heading = request_line(event.query, event.count if shown is None else shown)
    return "\n".join([heading, *say.header_lines(event, ADD_TASTE, DISCORD)])


def picks_text(picks: tuple[PickDraft, ...]) -> str:
    """The picks so far, each growing: the title first, then the rest as it is written."""
    return "\n\n".join(pick_text(number, pick) for number, pick in enumerate(picks, 1))


def pick_text(number: int, pick: PickDraft) -> str:
    """One pick: the bold title, its year and kind (and its check while not found), then
    its notes a line each, then what the catalogue found: facts and links."""
    # The model's words are shown as text, never as markdown it happened to write.
    title = say.pick_title(number, pick, DISCORD)
    if details := say.pick_details(pick):
        title += f" ({' · '.join(details)})"
    if mark := say.check_mark(pick.check):
        title += f" · {DISCORD.emphasis(mark)}"
    return "\n".join([title, *say.pick_notes(pick, DISCORD), *found_lines(pick)])


def found_lines(pick: PickDraft) -> list[str]:
    """A found pick's facts (its links are on its card, under the reply); else nothing."""
    check = pick.check
    if check is None or not check.is_found or check.facts is None:
        return []
    return [escaped(say.film_facts(check.facts))]


CATALOGUE_CREDIT = f"[{say.CATALOGUE_CREDIT}](<{say.CATALOGUE_URL}>)"


def keycap_range(count: int) -> str:
    """The number reactions that rate `count` picks: `1️⃣` alone, or `1️⃣–4️⃣`."""
    last = KEYCAPS[min(max(count, 1), len(KEYCAPS)) - 1]
    return last if last == KEYCAPS[0] else f"{KEYCAPS[0]}–{last}"


def how_to_rate(count: int) -> str:
    """How to rate `count` picks on Discord: reactions, numbers, or /rate."""
    return (
        f"Rate every pick with {LIKE} or {DISLIKE}, like one with its number "
        f"({keycap_range(count)}), or use `/rate` to say you have seen one. "
        f"{say.RATINGS_SHAPE_PICKS}"
    )


def finished(event: Finished) -> str:
    """The ending of an answer the model ended, or the length limit cut: repeats left
    out, and how to rate the picks."""
    lines = [CUT_BY_LENGTH] if event.is_cut else []
    if not event.is_structured:
        return "\n".join([*lines, RATE_PROMPT])
    lines += say.catalogue_end_lines(event.picks)
    lines += say.end_lines(event, how_to_rate(len(event.picks)))
    if say.uses_catalogue(event.picks):
        lines.append(CATALOGUE_CREDIT)
    return "\n".join(lines)


def failed(event: Failed) -> str:
    """The ending of an answer that broke off, or never started."""
    text = f"⚠️ {describe_error(event.error)}"
    if event.text:
        text += f" {say.KEPT_BEFORE_FAULT}"
    return text
