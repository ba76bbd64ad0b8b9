"""`agent-os index` and `agent-os search` through typer's runner, with the test double."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_os.standards import HashEmbedder
from agent_os_cli import app
from agent_os_cli import standards as standards_cli

runner = CliRunner()


@pytest.fixture(autouse=True)
def hash_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(standards_cli, "make_embedder", lambda: HashEmbedder())


def run(tmp_path: Path, corpus: Path, *args: str):
    return runner.invoke(
        app,
        [*args, "--standards", str(corpus), "--index", str(tmp_path / "cli.db"),
         "--project", str(tmp_path)],
    )


def test_index_then_search_json(tmp_path: Path, corpus: Path):
    out = run(tmp_path, corpus, "index", "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert (report["documents"], report["added"]) == (3, 3)

    out = run(tmp_path, corpus, "search", "refresh tokens rotate", "-n", "2", "--json")
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    assert body["query"] == "refresh tokens rotate"
    assert body["mode"] == "hybrid"
    assert len(body["results"]) == 2
    first = body["results"][0]
    assert {"path", "heading", "start_line", "end_line", "text", "score", "retriever"} <= set(first)
    assert first["path"] == "security/authentication-tokens.md"
    assert first["start_line"] <= first["end_line"]
    assert isinstance(body["took_ms"], float) and body["refreshed"] is False


def test_search_builds_index_and_prints_citations(tmp_path: Path, corpus: Path):
    out = run(tmp_path, corpus, "search", "exponential backoff jitter", "--folder", "failure-handling")
    assert out.exit_code == 0, out.output
    assert "failure-handling/retries-backoff.md:" in out.stdout
    assert "Built the standards index" in out.stderr


def test_index_summary_and_rebuild(tmp_path: Path, corpus: Path):
    assert run(tmp_path, corpus, "index").exit_code == 0
    out = run(tmp_path, corpus, "index", "--rebuild")
    assert out.exit_code == 0, out.output
    assert "3 documents" in out.stdout and "full rebuild" in out.stdout


def test_non_utf8_file_is_a_warning_not_a_traceback(tmp_path: Path, corpus: Path):
    (corpus / "bad.md").write_bytes(b"\xff\xfe\x00 not utf-8")
    out = run(tmp_path, corpus, "index")
    assert out.exit_code == 0, out.output
    assert "bad.md" in out.stderr and "UTF-8" in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "   "], "empty"),
        (["search", "race", "-n", "0"], "between 1 and 20"),
        (["search", "race", "-n", "50"], "between 1 and 20"),
        (["search", "q" * 3000], "limit is 2000"),
        (["search", "race", "--mode", "magic"], "Unknown search mode"),
        (["search", "race", "--tag", "nonexistent"], "No standards tagged"),
    ],
)
def test_bad_input_exits_2_with_a_json_error(tmp_path: Path, corpus: Path, args, message):
    out = run(tmp_path, corpus, *args, "--json")
    assert out.exit_code == 2
    error = json.loads(out.stdout)
    assert message in error["error"]
    assert error["kind"] == "InputError"


def test_corrupt_index_file_recovers(tmp_path: Path, corpus: Path):
    (tmp_path / "cli.db").write_text("garbage, not sqlite")
    out = run(tmp_path, corpus, "search", "race condition", "--json")
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    assert body["results"] and any("damaged" in n for n in body["notices"])


def test_missing_standards_dir_exits_2(tmp_path: Path):
    out = run(tmp_path, tmp_path / "nope", "index")
    assert out.exit_code == 2
    assert "does not exist" in out.stderr


def test_help_texts_describe_options():
    out = runner.invoke(app, ["search", "--help"])
    assert out.exit_code == 0
    for word in ("--folder", "--tag", "--mode", "--standards", "--index", "--json", "-n"):
        assert word in out.stdout
    out = runner.invoke(app, ["index", "--help"])
    assert "--rebuild" in out.stdout
