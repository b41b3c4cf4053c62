"""The server-sent events reader: the same events however the bytes are cut or spelt."""

from __future__ import annotations

import pytest

from bot.pipeline.sse import EventParser, ServerEvent, read_events

STREAM = (
    ': OPENROUTER PROCESSING\n\ndata: {"a": "é—ü"}\n\n'
    'event: error\ndata: {"b":\ndata: 2}\n\ndata: [DONE]\n\n'
).encode()
EXPECTED = [
    ServerEvent('{"a": "é—ü"}'),
    ServerEvent('{"b":\n2}', event="error"),
    ServerEvent("[DONE]"),
]


def parse(pieces: list[bytes]) -> list[ServerEvent]:
    parser = EventParser()
    events = [event for piece in pieces for event in parser.feed(piece)]
    return events + parser.close()


def test_comments_are_skipped_and_data_lines_joined() -> None:
    assert parse([STREAM]) == EXPECTED


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r"])
def test_crlf_and_lone_cr_end_lines_too(line_end: bytes) -> None:
    assert parse([STREAM.replace(b"\n", line_end)]) == EXPECTED


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n", b"\r"])
def test_the_stream_may_be_cut_at_any_byte(line_end: bytes) -> None:
    raw = STREAM.replace(b"\n", line_end)
    for cut in range(1, len(raw)):
        assert parse([raw[:cut], raw[cut:]]) == EXPECTED, cut


def test_one_byte_at_a_time_splits_characters_and_crlfs() -> None:
    raw = STREAM.replace(b"\n", b"\r\n")
    assert parse([raw[i : i + 1] for i in range(len(raw))]) == EXPECTED


def test_an_event_arrives_as_soon_as_its_blank_line_does() -> None:
    parser = EventParser()

    assert parser.feed(b"data: one\n") == []
    assert parser.feed(b"\n") == [ServerEvent("one")]


def test_a_crlf_split_between_its_two_bytes_is_one_line_end() -> None:
    parser = EventParser()

    assert parser.feed(b"data: one\r\n\r") == []
    assert parser.feed(b"\ndata: two\r\n\r\n") == [ServerEvent("one"), ServerEvent("two")]


def test_data_left_at_the_end_is_still_delivered() -> None:
    assert parse([b"data: last"]) == [ServerEvent("last")]


def test_fields_without_a_space_and_unknown_fields() -> None:
    raw = b"data:tight\nretry: 10\nwhatever: x\nid: 7\n\nevent: ping\n\n"
    # An event with no data (the `ping`) is not dispatched.
    assert parse([raw]) == [ServerEvent("tight", id="7")]


async def test_read_events_reads_an_async_byte_stream() -> None:
    async def pieces():  # type: ignore[no-untyped-def]
        for index in range(0, len(STREAM), 5):
            yield STREAM[index : index + 5]

    assert [event async for event in read_events(pieces())] == EXPECTED
