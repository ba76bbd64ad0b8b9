"""A prepared read (`dialects.Prepared`: on SQLite, run on the driver itself) answers exactly
what the same statement answers through SQLAlchemy, inside a transaction as outside it."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, bindparam, select

from agent_os import dialects
from agent_os.db import Database

_META = MetaData()
_NOTES = Table("prepared_notes", _META, Column("id", Integer, primary_key=True),
               Column("topic", Text, nullable=False), Column("body", Text), Column("score", Integer))
_BY_TOPIC = select(_NOTES).where(_NOTES.c.topic == bindparam("topic")).order_by(_NOTES.c.id).limit(5)
_READ = dialects.Prepared(_BY_TOPIC)


@pytest.fixture
def notes(db: Database) -> Database:
    with db.transaction() as conn:
        dialects.create_tables(conn, [_NOTES])
        conn.executemany(_NOTES.insert(), [{"topic": "a" if n % 2 else "b", "body": f"note {n}" if n else None,
                                            "score": n} for n in range(9)])
    return db


def test_a_prepared_read_answers_what_sqlalchemy_answers(notes):
    expected = [dict(r) for r in notes.query(_BY_TOPIC, {"topic": "b"})]
    assert len(expected) == 5 and expected[0] == {"id": 1, "topic": "b", "body": None, "score": 0}
    assert [dict(r) for r in notes.query(_READ, {"topic": "b"})] == expected
    assert dict(notes.query_one(_READ, {"topic": "a"})) == {"id": 2, "topic": "a", "body": "note 1", "score": 1}
    assert notes.query_one(_READ, {"topic": "nothing"}) is None


def test_a_prepared_read_inside_a_transaction_sees_its_writes_and_not_after_a_rollback(notes):
    with pytest.raises(RuntimeError), notes.transaction() as conn:
        conn.execute(_NOTES.insert().values(topic="c", body="draft", score=9))
        assert [r["body"] for r in notes.query(_READ, {"topic": "c"})] == ["draft"]
        raise RuntimeError("roll back")
    assert notes.query(_READ, {"topic": "c"}) == []


def test_a_column_sqlite_would_hand_back_unconverted_is_refused_with_what_to_do(tmp_path):
    db = Database.open(tmp_path / "t.db")
    stamped = Table("prepared_stamped", MetaData(), Column("id", Integer, primary_key=True), Column("at", DateTime))
    with db.transaction() as conn:
        dialects.create_tables(conn, [stamped])
    with pytest.raises(TypeError, match="at would need converting: use a plain statement"):
        db.query(dialects.Prepared(select(stamped)))
    db.close()
