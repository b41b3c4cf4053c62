"""The fake Discord's polls with the real discord.py client: create with the poll
payload, vote events (only with the polls intent), voters, results after the end."""

from __future__ import annotations

import datetime

import discord
import pytest

from tests.fakes.discord_server import FakeDiscord

pytestmark = pytest.mark.timeout(30)


class PollClient(discord.Client):
    """A client that keeps the raw poll vote events it receives."""

    def __init__(self, *, polls: bool = True) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_polls = polls
        super().__init__(intents=intents, guild_ready_timeout=0.1)
        self.votes: list[tuple[str, int, int]] = []

    async def on_raw_poll_vote_add(self, event: discord.RawPollVoteActionEvent) -> None:
        self.votes.append(("add", event.user_id, event.answer_id))

    async def on_raw_poll_vote_remove(self, event: discord.RawPollVoteActionEvent) -> None:
        self.votes.append(("remove", event.user_id, event.answer_id))


def a_poll(hours: int = 1) -> discord.Poll:
    poll = discord.Poll(question="Which one?", duration=datetime.timedelta(hours=hours))
    poll.add_answer(text="Arrival (2016)")
    poll.add_answer(text="Moon (2009)")
    return poll


async def test_a_poll_is_created_votes_arrive_and_results_are_final_after_its_end() -> None:
    async with FakeDiscord() as fake, fake.running(PollClient()) as client:
        channel = client.get_partial_messageable(fake.channel_id)
        sent = await channel.send(poll=a_poll())
        assert sent.poll is not None and [a.text for a in sent.poll.answers] == [
            "Arrival (2016)",
            "Moon (2009)",
        ]

        await fake.dispatch_poll_vote(42, sent.id, 2)
        await fake.dispatch_poll_vote(43, sent.id, 2)
        await fake.dispatch_poll_vote(43, sent.id, 2, added=False)
        await fake.dispatch_poll_vote(44, sent.id, 1)
        await fake.wait_for(lambda: len(client.votes) == 4)
        fake.end_poll_now(sent.id)
        fetched = await channel.fetch_message(sent.id)

        assert client.votes == [("add", 42, 2), ("add", 43, 2), ("remove", 43, 2), ("add", 44, 1)]
        assert fetched.poll is not None and fetched.poll.is_finalised()
        assert [answer.vote_count for answer in fetched.poll.answers] == [1, 1]
        voters = [user.id async for user in fetched.poll.answers[1].voters()]
        assert voters == [42]


async def test_vote_events_need_the_polls_intent() -> None:
    async with FakeDiscord() as fake, fake.running(PollClient(polls=False)) as client:
        sent = await client.get_partial_messageable(fake.channel_id).send(poll=a_poll())

        await fake.dispatch_poll_vote(42, sent.id, 1)

        assert fake.polls()[0].poll is not None
        assert client.votes == []


async def test_a_poll_ends_at_its_hours_and_can_be_expired_early() -> None:
    async with FakeDiscord() as fake, fake.running(PollClient()) as client:
        fake.poll_hour_seconds = 0.2
        channel = client.get_partial_messageable(fake.channel_id)
        short = await channel.send(poll=a_poll(hours=1))
        long = await channel.send(poll=a_poll(hours=24))
        short_poll, long_poll = fake.messages[short.id].poll, fake.messages[long.id].poll
        assert short_poll is not None and long_poll is not None

        await fake.wait_for(lambda: short_poll.is_finalized)
        assert not long_poll.is_finalized
        await long.end_poll()

        assert long_poll.is_finalized
        assert fake.requests_matching("POST", r"/channels/\d+/polls/\d+/expire")
        with pytest.raises(RuntimeError):
            await fake.dispatch_poll_vote(42, long.id, 1)


async def test_a_poll_without_the_permission_is_refused_as_discord_does() -> None:
    async with FakeDiscord() as fake, fake.running(PollClient()) as client:
        fake.refuse_polls = True
        channel = client.get_partial_messageable(fake.channel_id)

        with pytest.raises(discord.Forbidden) as refused:
            await channel.send(poll=a_poll())
        plain = await channel.send("no poll here")

        assert refused.value.code == 50013
        assert plain.content == "no poll here"


async def test_a_poll_answer_over_55_characters_is_refused() -> None:
    async with FakeDiscord() as fake, fake.running(PollClient()) as client:
        poll = discord.Poll(question="Which one?", duration=datetime.timedelta(hours=1))
        poll.add_answer(text="x" * 56)

        with pytest.raises(discord.HTTPException) as refused:
            await client.get_partial_messageable(fake.channel_id).send(poll=poll)

        assert refused.value.status == 400
