"""Newline-delimited framing (sandbox/protocol/_framing.py)."""

from __future__ import annotations

import pytest

from sandbox.protocol import FrameTooLarge, LineDecoder, read_lines


class TestLineDecoder:
    def test_one_message_per_line(self) -> None:
        assert LineDecoder().feed(b'{"a":1}\n{"b":2}\n') == [b'{"a":1}', b'{"b":2}']

    def test_a_message_split_across_writes(self) -> None:
        decoder = LineDecoder()
        assert decoder.feed(b'{"a"') == []
        assert decoder.feed(b":1") == []
        assert decoder.feed(b'}\n{"b"') == [b'{"a":1}']
        assert decoder.feed(b":2}\n") == [b'{"b":2}']

    def test_every_split_point_gives_the_same_lines(self) -> None:
        stream = b'{"a":1}\r\n\n{"b":"x\\ny"}\n  \n{"c":3}\n'
        expected = [b'{"a":1}\r', b'{"b":"x\\ny"}', b'{"c":3}']
        for cut in range(len(stream) + 1):
            decoder = LineDecoder()
            assert decoder.feed(stream[:cut]) + decoder.feed(stream[cut:]) == expected, cut

    def test_blank_and_whitespace_lines_are_skipped(self) -> None:
        assert LineDecoder().feed(b"\n\r\n   \n\t\n") == []

    def test_last_line_without_newline_comes_out_at_the_end(self) -> None:
        decoder = LineDecoder()
        assert decoder.feed(b'{"a":1}') == []
        assert decoder.flush() == [b'{"a":1}']
        assert decoder.flush() == []

    def test_a_line_at_the_limit_passes(self) -> None:
        assert LineDecoder(max_line_bytes=5).feed(b"12345\n") == [b"12345"]

    @pytest.mark.parametrize("chunk", [1, 3, 1000], ids=["bytewise", "small", "whole"])
    def test_an_oversized_line_is_reported_and_the_next_one_survives(self, chunk: int) -> None:
        decoder = LineDecoder(max_line_bytes=10)
        stream = b"x" * 25 + b"\n" + b"ok\n"
        frames = []
        for start in range(0, len(stream), chunk):
            frames += decoder.feed(stream[start : start + chunk])
        assert len(frames) == 2
        report, after = frames
        assert isinstance(report, FrameTooLarge)
        assert (report.size, report.limit, report.head) == (25, 10, b"x" * 25)
        assert report.message == (
            "Message of 25 bytes exceeds the limit of 10 bytes (SANDBOX_PLUGIN_MAX_MESSAGE_BYTES)"
        )
        assert after == b"ok"

    def test_an_oversized_line_is_never_buffered_whole(self) -> None:
        decoder = LineDecoder(max_line_bytes=1000)
        for _ in range(1000):
            assert decoder.feed(b"y" * 1000) == []
        assert len(decoder._buffer) == 0
        (report,) = decoder.feed(b"\n")
        assert isinstance(report, FrameTooLarge) and report.size == 1_000_000
        assert len(report.head) == 200


async def test_read_lines_reads_a_stream_to_its_end() -> None:
    chunks = [b'{"a"', b':1}\n{"b":2}\n{"c"', b":3}", b""]

    async def read() -> bytes:
        return chunks.pop(0)

    assert [line async for line in read_lines(read)] == [b'{"a":1}', b'{"b":2}', b'{"c":3}']
