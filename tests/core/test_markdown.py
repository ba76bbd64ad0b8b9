"""Markdown structure by CommonMark's fence rules: what is code is decided once, and the
evidence checks, tasks.md expansion and the standards chunker all agree on it."""

from __future__ import annotations

from agent_os import markdown
from agent_os.standards.chunking import chunk_markdown, parse_document

TILDES_IN_BACKTICKS = """# Guide

```text
~~~
## Not a heading (inside code)
~~~
```

## Real heading

Body text under the real heading.
"""


def test_tilde_line_inside_a_backtick_fence_does_not_close_it():
    # The bug: `~~~` toggled the fence, so the code's "heading" counted and the real one
    # after the block was lost.
    titles = [t for _, t, _ in markdown.headings(TILDES_IN_BACKTICKS)]
    assert titles == ["Guide", "Real heading"]
    section = markdown.find_section(TILDES_IN_BACKTICKS, "Real heading")
    assert section is not None and "Body text" in section.body


def test_a_fence_closes_only_with_at_least_as_many_of_the_same_character():
    text = "````\n```\n# inside\n````\n# outside\n~~~~\n~~~\n# inside too\n~~~~~\n# after"
    assert [t for _, t, _ in markdown.headings(text)] == ["outside", "after"]
    fences = markdown.fences(text.splitlines())
    assert [(f.first, f.last, f.marker, f.closed) for f in fences] == [(0, 3, "````", True), (5, 8, "~~~~", True)]


def test_an_unclosed_fence_runs_to_the_end():
    text = "# top\n```python\n# comment\n## also code\n"
    assert [t for _, t, _ in markdown.headings(text)] == ["top"]
    (fence,) = markdown.fences(text.splitlines())
    assert fence.info == "python" and not fence.closed and fence.last == 3


def test_indentation_and_info_strings():
    # Four spaces is not a fence; a backtick fence's info may not hold a backtick; a
    # closing fence carries no info string.
    text = "    ```\n# heading one\n``` `inline` ```\n# heading two\n~~~ py {x}\n``` still code\n~~~ not closing\n# code\n~~~\n# three"
    assert [t for _, t, _ in markdown.headings(text)] == ["heading one", "heading two", "three"]
    assert markdown.fences(text.splitlines())[0].info == "py {x}"


def test_checkboxes_and_code_agree_on_the_same_fences():
    text = "- [x] done\n```\n~~~\n- [ ] example in code\n```\n- [ ] open"
    assert [(b.checked, b.text, b.line) for b in markdown.checkboxes(text)] == [(True, "done", 1), (False, "open", 6)]
    assert [n for n, _ in markdown.outside_code(text)] == [1, 6]


def test_heading_forms():
    assert markdown.heading("## Title ##") == (2, "Title")
    assert markdown.heading("   ### C#") == (3, "C#")
    assert markdown.heading("#hashtag") is None
    assert markdown.heading("    # indented code") is None
    assert markdown.heading("#") is None


def test_the_chunker_uses_the_same_fences():
    chunks = chunk_markdown(TILDES_IN_BACKTICKS, title="Guide", max_tokens=200)
    headings = {c.heading for c in chunks}
    assert "Guide > Real heading" in headings
    assert not any("Not a heading" in h for h in headings)
    code = "# T\n\n```\n~~~\n# not the title\n```\n"
    assert parse_document(code, fallback_title="f").title == "T"
    assert parse_document("```\n# code\n```\n", fallback_title="f").title == "f"
