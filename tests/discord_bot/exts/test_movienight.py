"""/movienight end to end: blended picks streamed into the channel, a native poll, the
winner announced at the deadline (also after a restart), privacy and pings."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from bot.discord_bot.exts.movienight import SeenButton
from bot.discord_bot.layout import STOPPED
from bot.pipeline.domain import Rating
from bot.pipeline.movienight.privacy import word_runs
from bot.pipeline.records import NightRecord
from bot.settings import DiscordSettings
from tests.discord_bot.conftest import (
    ALICE,
    BOB,
    NO_PINGS,
    Harness,
    make_settings,
    open_records,
    running_bot,
)
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.ollama_server import DEFAULT_PICKS, MORE_PICKS, FakeOllama

CAROL = 333_333_333_333_333_333
DAVE = 444_444_444_444_444_444
TASTES = {
    ALICE: "slow thoughtful science fiction with big ideas about language",
    BOB: "clever heist movies with a charming crew and a twist at the end",
    CAROL: "warm musicals full of colour, songs and dancing in the streets",
}
# Seconds one hour of a poll lasts in the fake: a 1-hour vote ends almost at once.
POLL_HOUR = 0.6
RECHECK_SECONDS = 0.02


async def with_tastes(harness: Harness, *members: int) -> None:
    for member in members:
        await harness.pipeline.prefer(str(member), TASTES[member])


def mentions(*members: int) -> str:
    return " ".join(f"<@{member}>" for member in members)


async def movienight(harness: Harness, *members: int, **options: object):
    interaction = await harness.slash("movienight", {"with": mentions(*members), **options})
    await harness.fake.wait_for(lambda: harness.fake.polls() or _is_final(harness, interaction))
    return interaction


def _is_final(harness: Harness, interaction) -> bool:
    replies = harness.fake.replies(interaction.token)
    return bool(replies) and not replies[0].flags & 128 and "⏳" not in replies[0].content


def everything_sent(fake: FakeDiscord) -> str:
    """Every payload the bot sent Discord, as one text (messages, polls, edits)."""
    return "\n".join(json.dumps(request.json, ensure_ascii=False) for request in fake.requests)


def poll_of(fake: FakeDiscord) -> FakeMessage:
    [message] = fake.polls()
    assert message.poll is not None
    return message


async def test_picks_are_blended_and_put_to_a_poll(harness: Harness) -> None:
    await with_tastes(harness, ALICE, BOB, CAROL)

    interaction = await movienight(harness, BOB, CAROL, request="fun", hours=3)

    reply = harness.answer_of(interaction)
    await harness.fake.wait_for(lambda: "Vote in the poll" in harness.answer_of(interaction))
    assert f"<@{ALICE}>, <@{BOB}> and <@{CAROL}>" in reply
    for pick in DEFAULT_PICKS[:4]:
        assert pick["title"] in reply
    poll = poll_of(harness.fake).poll
    assert poll is not None
    assert list(poll.answer_texts.values()) == [
        f"{pick['title']} ({pick['year']})" for pick in DEFAULT_PICKS[:4]
    ]
    assert not poll.allow_multiselect
    [posted] = harness.fake.requests_matching("POST", r"/channels/\d+/messages")
    assert posted.json["poll"]["duration"] == 3


async def test_no_taste_text_of_any_participant_reaches_the_channel(
    harness: Harness, fake_ollama: FakeOllama
) -> None:
    await with_tastes(harness, ALICE, BOB, CAROL)
    fake_ollama.picks = [
        {**pick, "reasoning": f"Member B said: {TASTES[BOB]}. Member C: {TASTES[CAROL]}"}
        for pick in DEFAULT_PICKS
    ]

    await movienight(harness, BOB, CAROL)

    sent = everything_sent(harness.fake).replace("\\n", " ")
    for text in TASTES.values():
        assert not word_runs(sent) & word_runs(text)


async def test_the_blended_prompt_names_no_member(
    harness: Harness, fake_ollama: FakeOllama
) -> None:
    await with_tastes(harness, ALICE, BOB)

    await movienight(harness, BOB)

    prompt = fake_ollama.chat_requests[-1].body["messages"][-1]["content"]
    assert TASTES[ALICE] in prompt and TASTES[BOB] in prompt
    assert str(ALICE) not in prompt and str(BOB) not in prompt
    assert "Member A" in prompt and "Member B" in prompt


async def test_a_title_any_participant_disliked_is_avoided_and_never_shown(
    harness: Harness, fake_ollama: FakeOllama
) -> None:
    await with_tastes(harness, ALICE, BOB)
    events = [event async for event in harness.pipeline.suggest(str(BOB), "anything", 1)]
    await harness.pipeline.rate(str(BOB), events[0].suggestion_id, Rating.NOT_FOR_ME)
    fake_ollama.picks = [*DEFAULT_PICKS, *MORE_PICKS]

    interaction = await movienight(harness, BOB, count=3)

    prompt = fake_ollama.chat_requests[-1].body["messages"][-1]["content"]
    assert '"Arrival (2016)"' in prompt.split("Do not suggest these:")[1]
    await harness.fake.wait_for(lambda: "Vote in the poll" in harness.answer_of(interaction))
    assert "Arrival" not in everything_sent(harness.fake)
    poll = poll_of(harness.fake).poll
    assert poll is not None and "Arrival (2016)" not in poll.answer_texts.values()


async def test_the_asker_can_stop_a_night_and_no_vote_opens(harness: Harness) -> None:
    await with_tastes(harness, ALICE, BOB)
    harness.ollama.tokens_per_second = 20
    interaction = await harness.fake.dispatch_slash(
        "movienight", {"with": mentions(BOB)}, user_id=ALICE
    )
    original = await harness.fake.wait_for(lambda: harness.fake.original(interaction.token))
    await harness.fake.wait_for(lambda: "Arrival" in original.content)

    await harness.press(original.custom_ids[0], original, user=ALICE)
    await harness.until_done(interaction)

    assert STOPPED in original.content and "Arrival" in original.content
    assert original.components == []
    assert harness.fake.polls() == []


async def test_a_member_without_tastes_is_named_and_left_out(harness: Harness) -> None:
    await with_tastes(harness, ALICE, BOB)

    interaction = await movienight(harness, BOB, DAVE)

    reply = harness.answer_of(interaction)
    assert f"<@{DAVE}> has no tastes yet: `/prefer` adds some." in reply
    assert f"Blending the tastes of <@{ALICE}> and <@{BOB}>." in reply


async def test_an_opted_out_member_is_left_out_and_the_asker_told_privately(
    harness: Harness,
) -> None:
    await with_tastes(harness, ALICE, BOB, CAROL)
    await harness.slash("privacy", {"movie_nights": "leave me out"}, user=CAROL)

    interaction = await movienight(harness, BOB, CAROL)

    await harness.fake.wait_for(lambda: len(harness.fake.followups(interaction.token)) >= 1)
    [note] = [m for m in harness.fake.followups(interaction.token) if m.is_ephemeral]
    assert f"<@{CAROL}> has chosen not to be included" in note.content
    public = harness.fake.original(interaction.token)
    assert public is not None and f"<@{CAROL}>" not in public.content


async def test_one_member_with_tastes_gets_a_private_answer(harness: Harness) -> None:
    await with_tastes(harness, ALICE)

    interaction = await harness.slash("movienight", {"with": mentions(BOB)})

    reply = harness.private_reply(interaction)
    assert "at least two members with tastes" in reply
    assert f"<@{BOB}> has no tastes yet" in reply
    assert harness.fake.polls() == []


async def test_a_role_mention_is_not_expanded_and_the_asker_is_told(harness: Harness) -> None:
    await with_tastes(harness, ALICE, BOB)

    interaction = await harness.slash("movienight", {"with": f"<@&{CAROL}>"})

    reply = harness.private_reply(interaction)
    assert "Roles are not expanded" in reply
    assert harness.fake.polls() == []


async def test_a_poll_the_bot_may_not_post_leaves_the_picks_and_names_the_permission(
    harness: Harness,
) -> None:
    await with_tastes(harness, ALICE, BOB)
    harness.fake.refuse_polls = True

    interaction = await movienight(harness, BOB)

    await harness.fake.wait_for(lambda: "Create Polls" in harness.answer_of(interaction))
    reply = harness.answer_of(interaction)
    assert "SEND_POLLS" in reply and DEFAULT_PICKS[0]["title"] in reply


async def test_the_winner_is_announced_and_recorded_at_the_deadline(
    harness: Harness,
) -> None:
    harness.fake.poll_hour_seconds = POLL_HOUR
    await with_tastes(harness, ALICE, BOB, CAROL)
    await movienight(harness, BOB, CAROL, hours=1)
    poll = poll_of(harness.fake)

    await harness.fake.dispatch_poll_vote(BOB, poll.id, 3)
    await harness.fake.dispatch_poll_vote(CAROL, poll.id, 3)
    await harness.fake.dispatch_poll_vote(ALICE, poll.id, 1)

    announcement = await wait_for_announcement(harness.fake)
    assert "**Moon (2009)** with 2 votes" in announcement.content
    assert announcement.custom_ids == ["movienight:seen:1"]
    night = await announced_night(harness)
    assert night.winner_position == 3 and night.announcement_id == announcement.id
    assert set(night.votes) == {(str(BOB), 3), (str(CAROL), 3), (str(ALICE), 1)}
    bobs = await harness.pipeline.past_picks(str(BOB))
    assert {pick.title: pick.rating for pick in bobs}["Moon"] is Rating.LIKED


async def test_a_tie_is_broken_by_confidence_and_says_so(harness: Harness) -> None:
    harness.fake.poll_hour_seconds = POLL_HOUR
    await with_tastes(harness, ALICE, BOB)
    await movienight(harness, BOB, hours=1)
    poll = poll_of(harness.fake)

    await harness.fake.dispatch_poll_vote(ALICE, poll.id, 2)  # The Leftovers, 0.7
    await harness.fake.dispatch_poll_vote(BOB, poll.id, 3)  # Moon, 0.8

    announcement = await wait_for_announcement(harness.fake)
    assert "**Moon (2009)** with 1 vote" in announcement.content
    assert "tied with 1 vote each" in announcement.content
    assert "surest" in announcement.content


async def test_a_vote_ending_while_the_bot_was_away_is_announced_after_the_restart(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, settings: DiscordSettings
) -> None:
    fake_discord.poll_hour_seconds = 2.0
    async with running_bot(fake_discord, fake_ollama, settings) as before:
        await with_tastes(before, ALICE, BOB)
        await movienight(before, BOB, hours=1)
    poll = poll_of(fake_discord)
    poll_state = poll.poll
    assert poll_state is not None
    poll_state.votes[1] = [BOB]  # voted while the bot was away: no event reached it
    await fake_discord.wait_for(lambda: poll_state.is_finalized)

    async with running_bot(fake_discord, fake_ollama, settings):
        announcement = await wait_for_announcement(fake_discord)

    assert "**Arrival (2016)** with 1 vote" in announcement.content
    async with open_records(settings) as records:
        night = await records.nights.night(1)
    assert night is not None and night.votes == ((str(BOB), 1),)
    async with running_bot(fake_discord, fake_ollama, settings) as again:
        # The "mark seen" button still answers after another restart.
        pressed = await again.press(announcement.custom_ids[0], announcement, user=BOB)
    assert "Marked **Arrival (2016)** as seen" in (pressed.callback_data or {})["content"]


async def test_a_participant_marks_the_winner_seen_from_the_announcement(
    harness: Harness,
) -> None:
    harness.fake.poll_hour_seconds = POLL_HOUR
    await with_tastes(harness, ALICE, BOB)
    await movienight(harness, BOB, hours=1)
    await harness.fake.dispatch_poll_vote(BOB, poll_of(harness.fake).id, 2)
    announcement = await wait_for_announcement(harness.fake)

    pressed = await harness.press(announcement.custom_ids[0], announcement, user=BOB)
    stranger = await harness.press(announcement.custom_ids[0], announcement, user=DAVE)

    assert "Marked **The Leftovers (2014)** as seen" in (pressed.callback_data or {})["content"]
    assert "Only the members who took part" in (stranger.callback_data or {})["content"]
    bobs = await harness.pipeline.past_picks(str(BOB))
    assert {pick.title: pick.rating for pick in bobs}["The Leftovers"] is Rating.SEEN


async def test_nobody_is_pinged_without_notify_and_only_participants_with_it(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    settings = make_settings(fake_ollama, fake_discord, tmp_path / "data")
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        await with_tastes(harness, ALICE, BOB)
        await movienight(harness, BOB, DAVE, notify=True)

    [posted] = fake_discord.requests_matching("POST", r"/channels/\d+/messages")
    allowed = posted.json["allowed_mentions"]
    assert sorted(int(user) for user in allowed["users"]) == [ALICE, BOB]  # not DAVE
    assert allowed["parse"] == []
    assert set(re.findall(r"<@(\d+)>", posted.json["content"])) == {str(ALICE), str(BOB)}
    others = [request for request in fake_discord.sent_payloads() if request is not posted]
    for request in others:
        body = request.json.get("data", request.json)
        assert body.get("allowed_mentions") == NO_PINGS


async def test_privacy_shows_and_changes_the_members_choice(harness: Harness) -> None:
    shown = harness.private_reply(await harness.slash("privacy", user=BOB))
    changed = harness.private_reply(
        await harness.slash("privacy", {"movie_nights": "leave me out"}, user=BOB)
    )

    assert "can include you" in shown
    assert "left out of other members' movie nights" in changed
    assert await harness.pipeline.movie_nights.is_opted_out(str(BOB))
    assert SeenButton(1).custom_id == "movienight:seen:1"


async def announced_night(harness: Harness, night_id: int = 1) -> NightRecord:
    """The night once the bot has recorded its announcement (its own state: re-checked)."""
    deadline = asyncio.get_running_loop().time() + 5.0
    while True:
        night = await harness.pipeline.movie_nights.night(night_id)
        if night is not None and night.state == "announced":
            return night
        assert asyncio.get_running_loop().time() < deadline, night
        await asyncio.sleep(RECHECK_SECONDS)


async def wait_for_announcement(fake: FakeDiscord) -> FakeMessage:
    def announced() -> FakeMessage | None:
        found = [m for m in fake.messages.values() if "Tonight's pick" in m.content]
        return found[0] if found else None

    return await fake.wait_for(announced, timeout=10.0)


async def test_help_explains_movie_night(harness: Harness) -> None:
    reply = harness.private_reply(await harness.slash("help"))

    assert "/movienight" in reply and "/privacy" in reply and "poll" in reply


async def test_a_deleted_poll_is_decided_by_the_votes_that_arrived(harness: Harness) -> None:
    harness.fake.poll_hour_seconds = POLL_HOUR * 3
    await with_tastes(harness, ALICE, BOB)
    await movienight(harness, BOB, hours=1)
    poll = poll_of(harness.fake)
    await harness.fake.dispatch_poll_vote(ALICE, poll.id, 1)
    await harness.fake.dispatch_poll_vote(BOB, poll.id, 2)
    await harness.fake.dispatch_poll_vote(ALICE, poll.id, 1, added=False)
    await until_recorded(harness, [(str(BOB), 2)])
    poll.is_deleted = True

    announcement = await wait_for_announcement(harness.fake)

    assert "**The Leftovers (2014)** with 1 vote" in announcement.content


async def until_recorded(harness: Harness, votes: list[tuple[str, int]]) -> None:
    """Until the bot's stored votes, from the gateway's events, are `votes` (its own state)."""
    deadline = asyncio.get_running_loop().time() + 5.0
    while True:
        night = await harness.pipeline.movie_nights.night(1)
        if night is not None and list(night.votes) == votes:
            return
        assert asyncio.get_running_loop().time() < deadline, night
        await asyncio.sleep(RECHECK_SECONDS)


async def test_anyone_in_the_channel_saves_a_nights_pick_to_their_own_watchlist(
    harness: Harness,
) -> None:
    await with_tastes(harness, ALICE, BOB)
    interaction = await movienight(harness, BOB)
    await harness.fake.wait_for(lambda: "Vote in the poll" in harness.answer_of(interaction))
    reply = harness.fake.original(interaction.token)
    assert reply is not None
    [save] = await harness.fake.wait_for(
        lambda: [cid for cid in reply.custom_ids if cid.startswith("watchlist:save:")]
    )
    menu = reply.select_menu(save)
    assert menu is not None
    assert menu["options"][0]["label"] == "1. Arrival (2016)"

    chosen = await harness.fake.dispatch_select(reply.id, save, ["1"], user_id=CAROL)
    answer = await harness.fake.wait_for(lambda: harness.fake.original(chosen.token))

    assert "Saved **Arrival (2016)** to your watchlist" in answer.content
    carols = await harness.pipeline.library.watchlist_page(str(CAROL))
    assert [entry.title for entry in carols.entries] == ["Arrival"]
    assert (await harness.pipeline.library.watchlist_page(str(BOB))).entries == ()
