"""The typed worker protocol (runtime/protocol/messages.py): what the server accepts from a
worker, field by field. THREAT_MODEL.md, worker processes: a worker that escaped its sandbox
may send anything; anything but a well-typed message of a known kind is a ProtocolError
(the pool then fails the running call and kills the worker)."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.protocol import frames, messages


def from_worker(meta: Any, body: bytes = b"") -> Any:
    [(raw, got)] = frames.FrameReader(1 << 20).feed(frames.encode_reply(meta, body))
    return messages.read_from_worker(frames.decode_reply(raw), got)


def test_every_worker_message_round_trips() -> None:
    for message, write in [(messages.Ready(12), messages.write_ready),
                           (messages.Reply(7, 201, (("X-A", "1"), ("X-A", "2")), ("a line",), None, False, b"body"), messages.write_reply),
                           (messages.Reply(8, 201, calls=("setStatusCode(201)", "setBody()")), messages.write_reply),
                           (messages.ServiceRequest(3, 1, "mongodb-atlas", "findOne", '{"a":1}'), messages.write_service_request),
                           (messages.LogEvent(3, "text"), messages.write_log),
                           (messages.Reply(3, error=("FunctionExecutionError", "boom"), recycle=True), messages.write_reply),
                           (messages.Reply(4, error=("FunctionExecutionError", "boom"), traceback='File "f.py", line 2'),
                            messages.write_reply)]:
        [(meta, body)] = frames.FrameReader(1 << 20).feed(write(message))
        assert messages.read_from_worker(frames.decode_reply(meta), body) == message


def test_every_server_message_round_trips() -> None:
    boot = messages.Boot((messages.FunctionArtifact("/f.py", "python", "f.py", b"\x00code"),), {"id": "a"}, {"v": 1},
                         {"tag": "", "values": {}}, messages.Limits(350, 300.0, 10, 20, 1000))
    call = messages.Call(5, "/f.py", "endpoint", "http", "POST", "http://h/p", "a=1", ((b"Host", b"h"),), "127.0.0.1",
                         True, "/p", "JSON", b"{}", {"httpMethod": "POST"})
    result = messages.ServiceResult(5, 2, False, "", ("MongoServerError", "E11000"))
    for message, frame in [(boot, messages.write_boot(boot)), (call, messages.write_call(call)),
                           (result, messages.write_service_result(result))]:
        [(meta, body)] = frames.FrameReader(1 << 20).feed(frame)
        assert messages.read_from_server(meta, body) == message


def test_the_pool_s_call_id_overrides_the_call_s() -> None:
    call = messages.Call(0, "/f.py", "webhook", "http", "GET", "u", "", (), "", True, "", "EJSON")
    [(meta, body)] = frames.FrameReader(1 << 20).feed(messages.write_call(call, 99))
    assert messages.read_from_server(meta, body).call_id == 99


@pytest.mark.parametrize("meta", [
    ["reply", 1, 200, [["X-A"]], [], None, False, [], ""],  # a header that is not a pair
    ["reply", 1, 200, ["X-A: v"], [], None, False, [], ""],
    ["reply", 1, 200, [[1, "v"]], [], None, False, [], ""],
    ["reply", 1, 200, [["X-A", None]], [], None, False, [], ""],
    ["reply", 1, 200, [], "not a list", None, False, [], ""],  # logs
    ["reply", 1, 200, [], [1, {"x": 2}, "kept"], None, False, [], ""],
    ["reply", 1, 200, [], [], "not an object", False, [], ""],  # error
    ["reply", 1, 200, [], [], [5, "m"], False, [], ""],
    ["reply", 1, "200", [], [], None, False, [], ""],  # status
    ["reply", "1", 200, [], [], None, False, [], ""],  # call id
    ["reply", 1, 200, [], [], None, 0, [], ""],  # recycle
    ["reply", 1, 200, [], []],  # too short
    ["reply", 1, 200, [], [], None, False, [5], ""],  # response calls (for the inspector): text only,
    ["reply", 1, 200, [], [], None, False, ["setBody()"] * 201, ""],  # at most MAX_CALLS of them,
    ["reply", 1, 200, [], [], None, False, ["x" * 301], ""],  # each at most MAX_CALL_CHARS long
    ["reply", 1, 400, [], [], ["FunctionExecutionError", "m"], False, [], 5],  # a traceback that is not text
    ["reply", 1, 400, [], [], ["FunctionExecutionError", "m"], False, [], "x" * (messages.MAX_TRACEBACK_CHARS + 1)],
    ["svc", 1, 1, "s", "op", {"not": "text"}],
    ["log", 1, 5],
    ["ready"],
    ["hello", 1],
    {"status": 200},  # the old dict meta
    [],
])
def test_a_worker_message_of_the_wrong_shape_breaks_the_protocol(meta: Any) -> None:
    with pytest.raises(frames.ProtocolError):
        from_worker(meta)


def test_a_protocol_error_names_what_was_wrong() -> None:
    with pytest.raises(frames.ProtocolError, match="^a worker's reply headers has a field of the wrong type$"):
        from_worker(["reply", 1, 200, [[1, "v"]], [], None, False, [], ""])
    with pytest.raises(frames.ProtocolError, match=r"^a worker message of unknown kind or length \('hello'\)$"):
        from_worker(["hello", 1])


@pytest.mark.parametrize("meta", [
    ["reply", 7, 201, [["X-A", "é ✓ \ud800"], ["X-B", '"\\\n\t']], ["a line", "😀"], ["E", "m"], True],
    ["svc", 1, 2, "mongodb-atlas", "findOne", '{"a":1.5e300}'],
    ["log", 3, ""],
])
def test_a_reply_meta_is_compact_utf_8_json_and_reads_back_the_same(meta: Any) -> None:
    """The worker writes its meta with one kept encoder and the server reads it with the
    scanner alone (issue 8, bench): the bytes are json.dumps's, compact and UTF-8 (lone
    surrogates passed through), and read back to the same value."""
    import json

    [(raw, _)] = frames.FrameReader(1 << 20).feed(frames.encode_reply(meta))
    assert raw == json.dumps(meta, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
    assert frames.decode_reply(raw) == meta


@pytest.mark.parametrize("raw, message", [
    (b"", "no value at character 0"),
    (b" [1]", "no value at character 0"),  # encode_reply writes no whitespace
    (b"[1] ", "extra data at character 3"),
    (b"[1][2]", "extra data at character 3"),
    (b'["a",', "no value at character 5"),
    (b'{"a"', "Expecting ':' delimiter: line 1 column 5 (char 4)"),
    (b"\xff[]", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
])
def test_a_reply_meta_that_is_not_one_json_value_breaks_the_protocol(raw: bytes, message: str) -> None:
    with pytest.raises(frames.ProtocolError) as caught:
        frames.decode_reply(raw)
    assert str(caught.value) == f"reply meta is not JSON: {message}"
