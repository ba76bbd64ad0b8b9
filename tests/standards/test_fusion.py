"""Reciprocal rank fusion and the FTS query built from user text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_os import sqlite as db
from agent_os.standards.fusion import fts_query, reciprocal_rank_fusion


def test_rrf_rewards_items_both_retrievers_found():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "d"]], k=60)
    scores = dict(fused)
    assert fused[0][0] == "c"
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["a"] == pytest.approx(1 / 61)
    assert [item for item, _ in fused] == ["c", "a", "b", "d"]


def test_rrf_ties_keep_first_seen_order_and_empty_lists_are_fine():
    assert reciprocal_rank_fusion([["x", "y"], ["y", "x"]]) == [
        ("x", pytest.approx(1 / 61 + 1 / 62)),
        ("y", pytest.approx(1 / 61 + 1 / 62)),
    ]
    assert reciprocal_rank_fusion([[], []]) == []
    assert reciprocal_rank_fusion([["a"], []]) == [("a", pytest.approx(1 / 61))]


def test_rrf_weights_must_match():
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], weights=[1.0, 2.0])


def test_fts_query_quotes_words_and_drops_stopwords():
    assert fts_query("How do I rotate the refresh tokens?") == '"rotate" OR "refresh" OR "tokens"'
    assert fts_query("the and of") == '"the" OR "and" OR "of"'
    assert fts_query("?!* ()") is None


@given(st.text(max_size=200))
def test_any_user_text_is_a_valid_fts5_query(text):
    conn = db.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='porter unicode61')")
    conn.execute("INSERT INTO t(body) VALUES ('race conditions near locks')")
    query = fts_query(text)
    if query is not None:
        conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (query,)).fetchall()
    conn.close()
