"""Anything a sender holding the secret can put in a body gets a 4xx with the reason: never a
500 (GitHub records those as failed deliveries) and never a traceback in the log."""

from __future__ import annotations

import logging

import pytest
from botkit import post_webhook

from bot.payloads import MAX_DEPTH, PayloadError, check_content_type, parse_payload


def nested(levels: int) -> bytes:
    return b'{"a":' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"


HOSTILE = {
    "nested 5,000 levels": (nested(5_000), {}, 400, "deeper than"),
    "nested 100,000 levels": (nested(100_000), {}, 400, "deeper than"),
    "nested past our limit, under Python's": (nested(MAX_DEPTH + 1), {}, 400, "deeper than"),
    "latin-1 bytes": ('{"zen": "café"}'.encode("latin-1"), {}, 400, "not UTF-8"),
    "utf-16 with a BOM": ('{"zen": "x"}'.encode("utf-16"), {}, 400, "not UTF-8"),
    "an integer of 5,000 digits": (b'{"hook_id": 1' + b"0" * 5000 + b"}", {}, 400, "not JSON"),
    "form-encoded": (b"payload=%7B%7D", {"Content-Type": "application/x-www-form-urlencoded"}, 415,
                     "content type to application/json"),
    "text/plain": (b'{"zen": "x"}', {"Content-Type": "text/plain"}, 415, "is not JSON"),
    "truncated JSON": (b'{"zen": "x"', {}, 400, "not JSON"),
}


@pytest.fixture
def server_log():
    """Every record the server's loggers (ours and uvicorn's) emit during the test."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("", "bot", "uvicorn", "uvicorn.error", "fastapi")]
    for lg in loggers:
        lg.addHandler(handler)
    yield records
    for lg in loggers:
        lg.removeHandler(handler)


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_bodies_get_a_4xx_with_the_reason_and_no_traceback(refused, server_log, case):
    body, headers, status, reason = HOSTILE[case]
    response = post_webhook(refused.server.url, "ping", body, headers=headers)
    assert response.status_code == status, response.text
    assert reason in response.json()["error"]
    assert [r for r in server_log if r.exc_info or "Traceback" in r.getMessage()] == []


def test_a_payload_at_the_depth_limit_is_accepted():
    payload = parse_payload(nested(MAX_DEPTH))
    depth, node = 1, payload["a"]
    while node:
        depth, node = depth + 1, node[0]
    assert depth + 1 == MAX_DEPTH


@pytest.mark.parametrize("value", ["application/json", "application/json; charset=utf-8", "Application/JSON",
                                   None, ""])
def test_json_content_types_and_none_are_accepted(value):
    check_content_type(value)


def test_a_refusal_carries_status_reason_and_message():
    with pytest.raises(PayloadError) as caught:
        parse_payload(b"[1, 2]")
    assert (caught.value.status, caught.value.reason) == (400, "json")
    assert caught.value.message == "The body is not a JSON object."
