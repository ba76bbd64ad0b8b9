"""Chunking: front matter kept out of the text, heading paths, exact line ranges, sizes."""

from __future__ import annotations

import re

import pytest

from agent_os.standards.chunking import (
    chunk_markdown,
    estimate_tokens,
    parse_document,
    split_front_matter,
)


@pytest.fixture
def race(texts: dict[str, str]) -> str:
    return texts["race"]


def test_front_matter_becomes_metadata_not_text(race):
    doc = parse_document(race, fallback_title="x")
    assert doc.title == "Race conditions"
    assert doc.tags == ("concurrency", "threads")
    assert doc.summary == "Shared state touched by two actors."
    assert all("tags:" not in c.text and "summary:" not in c.text for c in doc.chunks)


def test_each_chunk_is_the_exact_lines_it_cites(race):
    lines = race.splitlines()
    for chunk in parse_document(race, fallback_title="x").chunks:
        cited = "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
        assert cited.strip("\n") == chunk.text


def test_heading_paths_follow_the_document_outline(race):
    chunks = parse_document(race, fallback_title="x").chunks
    by_heading = {c.heading: c for c in chunks}
    assert set(by_heading) == {
        "Race conditions",
        "Race conditions > Rules",
        "Race conditions > Examples",
        "Race conditions > Anti-patterns",
    }
    assert by_heading["Race conditions > Rules"].start_line == 10
    assert by_heading["Race conditions > Rules"].text.startswith("## Rules")


def test_long_sections_are_split_on_paragraphs_never_inside_a_code_fence():
    paragraphs = "\n\n".join(
        f"Paragraph {i} " + "about locking and queues and ownership of state " * 6
        for i in range(12)
    )
    fence = "```python\n" + "\n".join(f"x_{i} = compute({i})" for i in range(8)) + "\n```"
    text = f"# Big\n\n## Section\n{paragraphs}\n\n{fence}\n\nClosing words.\n"
    chunks = chunk_markdown(text, title="Big", max_tokens=120)
    section = [c for c in chunks if c.heading == "Big > Section"]
    assert len(section) > 3
    for chunk in chunks:
        assert estimate_tokens(chunk.text) <= 120
        assert chunk.text.count("```") % 2 == 0, "a code fence was cut"
    # Together the chunks cover every paragraph, each once.
    joined = "\n".join(c.text for c in chunks)
    assert all(joined.count(f"Paragraph {i} ") == 1 for i in range(12))
    assert [c.start_line for c in chunks] == sorted(c.start_line for c in chunks)


def test_a_fence_longer_than_a_chunk_is_cut_at_lines_as_a_last_resort():
    fence = "```\n" + "\n".join(f"line {i} of a very long listing" for i in range(200)) + "\n```"
    chunks = chunk_markdown(f"# T\n\n{fence}\n", title="T", max_tokens=100)
    assert len(chunks) > 5
    assert all(estimate_tokens(c.text) <= 100 for c in chunks)


def test_title_falls_back_to_heading_then_file_name():
    assert parse_document("# Heading title\n\nBody.\n", fallback_title="File").title == (
        "Heading title"
    )
    doc = parse_document("Just words, no headings at all.\n", fallback_title="Notes")
    assert doc.title == "Notes"
    assert doc.chunks[0].heading == "Notes"
    assert doc.chunks[0].start_line == 1


def test_broken_front_matter_is_still_not_indexed():
    meta, start = split_front_matter("---\ntitle: [unclosed\n---\n# Doc\n\nText.\n")
    assert meta == {}
    assert start == 3
    meta, start = split_front_matter("# No front matter\n")
    assert (meta, start) == ({}, 0)


def test_headings_inside_code_fences_are_not_headings():
    text = "# Doc\n\n## Real\n```bash\n# a shell comment\n```\n"
    headings = {c.heading for c in chunk_markdown(text, title="Doc")}
    assert headings == {"Doc > Real"}


def test_estimate_is_close_to_word_count_for_prose(texts):
    words = re.findall(r"\w+", texts["jwt"])
    assert 0.8 * len(words) <= estimate_tokens(texts["jwt"]) <= 2.0 * len(words)
