"""Refused submissions are stored capped: their first part and the hash of the whole."""

from __future__ import annotations

import hashlib
import json

import pytest

from agent_os.capped import MAX_FAILURES, MAX_REFUSED_BYTES, capped, capped_failures
from agent_os.engine import Engine
from agent_os.errors import EvidenceRejected
from agent_os.records import Failure


def test_small_values_are_kept_whole_and_large_ones_capped_with_their_hash():
    assert capped({"a": 1}) == {"a": 1}
    big = {"notes": "x" * 3_000_000}
    kept = capped(big)
    whole = json.dumps(big, sort_keys=True, ensure_ascii=False).encode()
    assert kept["capped"] and kept["bytes"] == len(whole)
    assert kept["sha256"] == hashlib.sha256(whole).hexdigest()
    assert len(kept["head"].encode()) <= MAX_REFUSED_BYTES and kept["head"].startswith('{"notes": "xxx')


def test_failures_are_bounded_in_number_and_length():
    many = [Failure("f" * 10_000, "unknown", "", "", "")] * 5000
    kept = capped_failures(many)
    assert len(kept) == MAX_FAILURES + 1 and kept[-1].rule == "too_many"
    assert all(len(v) <= 500 for f in kept for v in f.to_dict().values())


def test_a_refused_3_mb_submission_is_stored_capped(engine: Engine):
    sid = engine.start("notes_v1", "login").session.session_id
    with pytest.raises(EvidenceRejected):
        engine.complete_phase(sid, 0, {"notes_file": "notes.md", "items": 1, "dump": "y" * 3_000_000})
    (stored,) = engine.submissions(sid)
    assert stored.evidence["capped"] and stored.evidence["bytes"] > 3_000_000
    assert len(json.dumps(stored.evidence)) < 2 * MAX_REFUSED_BYTES
    assert engine.state(sid).current_phase == 0
