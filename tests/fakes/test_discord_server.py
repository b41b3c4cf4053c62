"""Smoke tests of the fake Discord with the real discord.py client."""

from __future__ import annotations

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord_server import FakeDiscord

pytestmark = pytest.mark.timeout(30)


class EchoBot(commands.Bot):
    """A tiny bot: /echo defers, then edits its reply and sends a follow-up."""

    def __init__(self, guild_id: int) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_reactions = True
        super().__init__(
            command_prefix=commands.when_mentioned, intents=intents, guild_ready_timeout=0.1
        )
        self.guild = discord.Object(guild_id)
        self.reactions: list[discord.RawReactionActionEvent] = []

        @app_commands.command(description="Say it back")
        async def echo(interaction: discord.Interaction, text: str, times: int = 1) -> None:
            await interaction.response.defer()
            await interaction.edit_original_response(content=text * times)
            message = await interaction.followup.send("and again", wait=True)
            await message.add_reaction("👍")

        self.tree.add_command(echo)

    async def setup_hook(self) -> None:
        self.tree.copy_global_to(guild=self.guild)
        await self.tree.sync(guild=self.guild)

    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        self.reactions.append(event)


async def test_bot_logs_in_syncs_and_answers_a_slash_command() -> None:
    async with FakeDiscord() as fake, fake.running(EchoBot(fake.guild_id)):
        assert fake.commands[fake.guild_id][0]["name"] == "echo"

        interaction = await fake.dispatch_slash("echo", {"text": "hi", "times": 2})
        await fake.wait_for(lambda: fake.followups(interaction.token))

        assert interaction.callback_type == 5
        assert fake.original(interaction.token).content == "hihi"
        assert fake.followups(interaction.token)[0].content == "and again"
        assert fake.requests_matching("PATCH", r"/webhooks/\d+/[^/]+/messages/@original")


async def test_bot_own_reaction_is_echoed_over_the_gateway() -> None:
    bot = EchoBot(0)
    async with FakeDiscord() as fake:
        bot.guild = discord.Object(fake.guild_id)
        async with fake.running(bot):
            interaction = await fake.dispatch_slash("echo", {"text": "x"})
            await fake.wait_for(lambda: bot.reactions)
            followup = fake.followups(interaction.token)[0]
            assert bot.reactions[0].user_id == fake.bot_user_id
            assert bot.reactions[0].message_id == followup.id
            assert ("👍", fake.bot_user_id) in followup.reactions


async def test_a_429_is_retried_after_the_given_delay() -> None:
    async with FakeDiscord() as fake, fake.running(EchoBot(fake.guild_id)):
        fake.rate_limit(
            "PATCH", r"/webhooks/\d+/[^/]+/messages/@original", times=1, retry_after=0.2
        )
        interaction = await fake.dispatch_slash("echo", {"text": "hi"})
        await fake.wait_for(lambda: fake.followups(interaction.token))

        edits = fake.requests_matching("PATCH", r"/webhooks/\d+/[^/]+/messages/@original")
        assert [edit.status for edit in edits] == [429, 200]
        assert edits[1].time - edits[0].time >= 0.2
        assert fake.original(interaction.token).content == "hi"


async def test_a_late_acknowledgement_is_refused() -> None:
    async with FakeDiscord(ack_deadline=0.0) as fake, fake.running(EchoBot(fake.guild_id)):
        interaction = await fake.dispatch_slash("echo", {"text": "hi"})
        [callback] = await fake.wait_for_request("POST", r"/interactions/\d+/[^/]+/callback")
        assert callback.status == 404
        assert not interaction.is_acknowledged


async def test_a_second_client_can_run_against_the_same_state() -> None:
    async with FakeDiscord() as fake:
        async with fake.running(EchoBot(fake.guild_id)):
            first = await fake.dispatch_slash("echo", {"text": "one"})
            await fake.wait_for(lambda: fake.followups(first.token))
        assert fake.ready_sessions == 0

        second_bot = EchoBot(fake.guild_id)
        async with fake.running(second_bot):
            await fake.dispatch_reaction_add(fake.member_id, fake.original(first.token).id)
            await fake.wait_for(lambda: second_bot.reactions)
            assert second_bot.reactions[0].user_id == fake.member_id
        assert len(fake.identify_payloads) == 2


async def test_discord_py_is_pointed_back_at_discord_afterwards() -> None:
    base = discord.http.Route.BASE
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with FakeDiscord() as fake, fake.running(EchoBot(fake.guild_id)):
        assert fake.api_base == discord.http.Route.BASE
    assert base == discord.http.Route.BASE
    assert gateway == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


async def test_wait_for_times_out_when_nothing_happens() -> None:
    async with FakeDiscord() as fake:
        with pytest.raises(TimeoutError):
            await fake.wait_for(lambda: fake.requests, timeout=0.05)


async def test_writes_over_the_budget_of_a_message_get_a_429_like_discords() -> None:
    async with FakeDiscord(write_budget=(5, 60.0)) as fake, aiohttp.ClientSession() as http:
        channel = f"{fake.api_base}/channels/{fake.channel_id}/messages"
        async with http.post(channel, json={"content": "0"}) as created:
            message_id = (await created.json())["id"]
        statuses = []
        for n in range(1, 6):
            async with http.patch(f"{channel}/{message_id}", json={"content": str(n)}) as edit:
                statuses.append(edit.status)
                if edit.status == 429:
                    body, headers = await edit.json(), edit.headers

        assert statuses == [200, 200, 200, 200, 429]  # the post and four edits fill 5
        assert 0 < body["retry_after"] <= 60
        assert body["global"] is False
        assert headers["Via"]  # discord.py treats a 429 without Via as a Cloudflare ban
        assert headers["X-RateLimit-Remaining"] == "0"
        assert float(headers["X-RateLimit-Reset-After"]) == pytest.approx(
            body["retry_after"], abs=0.01
        )
        assert fake.messages[int(message_id)].content == "4"  # the refused edit changed nothing


async def test_an_interaction_token_expires_after_its_lifetime() -> None:
    async with FakeDiscord(token_lifetime=0.0) as fake, fake.running(EchoBot(fake.guild_id)):
        interaction = await fake.dispatch_slash("echo", {"text": "hi"})
        [edit] = await fake.wait_for_request("PATCH", r"/webhooks/\d+/[^/]+/messages/@original")

        assert interaction.is_acknowledged  # the callback needs no token lifetime
        assert edit.status == 401
        assert fake.original(interaction.token).content == ""
