"""One template detector: placeholders in any bracket style, the workflow's skeleton
sentences left as they were; HTML, generics, links and code are content."""

from __future__ import annotations

import pytest

from agent_os.resources import shipped_workflows_dir
from agent_os.templates import placeholders, template_sentences, unchanged_template_lines


@pytest.mark.parametrize("text", ["# <Feature Name> — Requirements", "[Describe the goals here]", "{{ feature }}",
                                  "{Feature name}", "<feature name>", "Owner: TODO", "TBD", "[...]", "<FEATURE>",
                                  "Lorem ipsum dolor", "[Insert the API table]", "<describe the risk>"])
def test_placeholders_in_any_bracket_style(text: str):
    assert placeholders(text), text


@pytest.mark.parametrize("text", ["a <br> b", "<details><summary>More</summary>", "<a href='x.md'>x</a>",
                                  "see [the docs](x.md)", "x < y > z", "Use List<String> here", "map[string]int",
                                  "`<Feature Name>` in code", "```\n<Feature Name>\n```", "Depends on [Phase 1]"])
def test_content_that_only_looks_like_a_placeholder(text: str):
    assert placeholders(text) == [], text


def test_skeleton_sentences_are_templates_and_worked_examples_are_not():
    skeleton = "```markdown\n# <Feature> — Tasks\n\nOne paragraph: how the phases build on each other.\n```\n"
    example = "```markdown\n- **FR-1**: The login endpoint accepts an email and a password.\n```\n"
    found = template_sentences([skeleton + example])
    assert found == {"one paragraph how the phases build on each other"}
    spec = "# Login — Tasks\n\nOne paragraph: how the phases build on each other.\n\nReal text here.\n"
    assert unchanged_template_lines(spec, found) == [(3, "One paragraph: how the phases build on each other.")]


def test_the_shipped_workflows_have_skeletons_to_recognise():
    texts = [p.read_text(encoding="utf-8") for p in shipped_workflows_dir().rglob("*.md")]
    assert len(template_sentences(texts)) >= 8
