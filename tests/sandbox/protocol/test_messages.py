"""Parsing, classification and building of messages (sandbox/protocol/_messages.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.records import RelatedIssue
from sandbox.protocol import (
    ErrorCode,
    FrameError,
    Notification,
    Request,
    Response,
    classify,
    encode_message,
    error_message,
    notification_message,
    parse_message,
    request_message,
    result_message,
)


class TestParseMessage:
    @pytest.mark.parametrize(
        ("line", "message"),
        [
            pytest.param(b"", "Empty message", id="empty"),
            pytest.param(b"  \r", "Empty message", id="blank"),
            pytest.param(b"hello world", "Invalid JSON: hello world", id="text"),
            pytest.param(b"{" + b"x" * 300, "Invalid JSON: {" + "x" * 199, id="quoted-200"),
            pytest.param(b"\xff\xfe{}", "Invalid JSON: \ufffd\ufffd{}", id="not-utf8"),
            pytest.param(
                b'{"jsonrpc":"2.0","id":NaN}', 'Invalid JSON: {"jsonrpc":"2.0","id":NaN}', id="nan"
            ),
            pytest.param(b"[1, 2]", "Message must be a JSON object", id="array"),
            pytest.param(b"null", "Message must be a JSON object", id="null"),
            pytest.param(
                b'{"id":1}',
                'Invalid or missing jsonrpc version (expected "2.0", got undefined)',
                id="no-version",
            ),
            pytest.param(
                b'{"jsonrpc":"1.0"}',
                'Invalid or missing jsonrpc version (expected "2.0", got "1.0")',
                id="wrong-version",
            ),
            pytest.param(
                b'{"jsonrpc":2}',
                'Invalid or missing jsonrpc version (expected "2.0", got 2)',
                id="number-version",
            ),
        ],
    )
    def test_upstream_parse_errors(self, line: bytes, message: str) -> None:
        with pytest.raises(FrameError) as raised:
            parse_message(line)
        assert raised.value.message == message

    def test_crlf_and_surrounding_space_are_trimmed(self) -> None:
        assert parse_message(b' {"jsonrpc":"2.0","method":"log"}\r') == {
            "jsonrpc": "2.0",
            "method": "log",
        }


class TestClassify:
    def test_request(self) -> None:
        message = {"jsonrpc": "2.0", "id": "req-5", "method": "getData", "params": {"k": 1}}
        assert classify(message) == Request("req-5", "getData", {"k": 1}, message)

    def test_notification_has_no_id_key(self) -> None:
        message = {"jsonrpc": "2.0", "method": "log", "params": {}}
        assert classify(message) == Notification("log", {}, message)

    def test_null_id_with_a_method_is_neither(self) -> None:
        assert classify({"jsonrpc": "2.0", "id": None, "method": "log"}) is None

    def test_a_non_string_method_is_dropped(self) -> None:
        assert classify({"jsonrpc": "2.0", "id": 1, "method": 7}) is None

    def test_success_response_even_with_null_result(self) -> None:
        assert classify({"jsonrpc": "2.0", "id": 3, "result": None}) == Response(3, None, None)

    def test_error_response(self) -> None:
        response = classify(
            {"jsonrpc": "2.0", "id": 3, "error": {"code": -32001, "message": "no", "data": [1]}}
        )
        assert isinstance(response, Response) and response.error is not None
        assert (response.error.code, response.error.message, response.error.data) == (
            -32001,
            "no",
            [1],
        )

    def test_a_response_wins_over_a_method(self) -> None:
        message = {"jsonrpc": "2.0", "id": 1, "method": "x", "result": 2}
        assert classify(message) == Response(1, 2, None)

    @pytest.mark.parametrize(
        "error", [{"code": "x", "message": "m"}, {"code": 1}, "boom", None], ids=str
    )
    def test_malformed_error_objects_become_unknown_errors(self, error: Any) -> None:
        response = classify({"jsonrpc": "2.0", "id": 1, "error": error})
        assert isinstance(response, Response) and response.error is not None
        assert response.error.code == ErrorCode.UNKNOWN
        assert response.error.message.startswith("Malformed JSON-RPC error object: ")

    def test_a_message_without_result_error_or_method_is_dropped(self) -> None:
        assert classify({"jsonrpc": "2.0", "id": 7}) is None


class TestBuilders:
    def test_request_with_envelope_fields(self) -> None:
        invocation = {"id": "inv-1", "scope": {"companyId": "c1"}}
        message = request_message(4, "getData", {}, {"paperclipInvocation": invocation})
        assert message == {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "getData",
            "params": {},
            "paperclipInvocation": invocation,
        }

    def test_notification_has_no_id_key(self) -> None:
        assert "id" not in notification_message("onEvent", {"event": {}})

    def test_error_data_only_when_given(self) -> None:
        assert error_message(None, ErrorCode.PARSE_ERROR, "bad") == {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": -32700, "message": "bad"},
        }
        assert error_message(1, -32002, "x", {"a": 1})["error"]["data"] == {"a": 1}

    def test_encoding_is_one_compact_line(self) -> None:
        data = encode_message(result_message("a", {"text": "line\nbreak", "é": "ü"}))
        assert data.endswith(b"\n") and data.count(b"\n") == 1
        assert b" " not in data
        assert json.loads(data) == {
            "jsonrpc": "2.0",
            "id": "a",
            "result": {"text": "line\nbreak", "é": "ü"},
        }

    def test_records_encode_as_their_wire_form(self) -> None:
        related = RelatedIssue(id="i1", title="T", status="todo", priority="low")
        data = encode_message(result_message(1, [related]))
        assert json.loads(data)["result"] == [related.to_wire()]
        assert b'"assigneeAgentId":null' in data

    @pytest.mark.parametrize(
        "value", [float("nan"), float("inf"), object()], ids=["nan", "inf", "object"]
    )
    def test_values_javascript_cannot_read_are_refused(self, value: Any) -> None:
        with pytest.raises((TypeError, ValueError)):
            encode_message(result_message(1, value))
