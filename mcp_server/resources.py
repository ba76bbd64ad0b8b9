"""Read-only views of the standards and workflow definitions, for MCP resources.

Paths come from the client, so every read is confined to a known root: a `../` or an
absolute path names nothing and reads as "not found", never as a file elsewhere.
"""

from __future__ import annotations

from agent_os.files import FileMissing, PathOutside, WorkingTree
from agent_os.project import Project
from agent_os.registry import Registry
from agent_os.standards.scan import root_labels, scan


def list_standards(project: Project) -> list[str]:
    """Relative paths of the standards documents; a later root's file overrides an earlier one's."""
    paths: dict[str, None] = {}
    for found in scan(root_labels(project)):
        paths[found.rel_path] = None
    return sorted(paths)


def read_standard(project: Project, rel: str) -> str | None:
    """The text of standards document `rel`, or None if there is none by that path."""
    if not isinstance(rel, str) or not rel.endswith(".md") or "\\" in rel or "\x00" in rel:
        return None
    for root in reversed(root_labels(project)):
        tree = WorkingTree(root.path)
        try:  # confined to the root: `..`, absolute paths and symlinks out name nothing
            if not tree.is_file(rel):
                continue
            return tree.read_text(rel)
        except PathOutside:
            continue
        except (OSError, UnicodeDecodeError, FileMissing):
            return None
    return None


def describe_standard(project: Project, rel: str) -> str:
    """What a standards document is for: its title and the summary of its front matter."""
    from agent_os.standards.chunking import split_front_matter

    text = read_standard(project, rel) or ""
    meta, _ = split_front_matter(text)
    title = str(meta.get("title") or "").strip() or next(
        (line[2:].strip() for line in text.splitlines() if line.startswith("# ")), rel)
    summary = str(meta.get("summary") or "").strip()
    return f"Standard: {title}. {summary}".strip() if summary else f"Standard: {title}."


def describe_workflow(registry: Registry, name: str) -> str:
    """What a workflow is for, from its definition; a broken definition says so."""
    try:
        wf = registry.load(name)
    except Exception as exc:  # noqa: BLE001 - any broken definition is described, not fatal
        return f"Workflow {name}: its definition has problems ({type(exc).__name__}); validate it."
    return f"Workflow {wf.name} v{wf.version} ({len(wf.phases)} phases): {wf.description}"


def read_workflow(registry: Registry, name: str) -> str:
    """A workflow as one markdown document: its YAML, then every phase's and task's instructions
    (from disk, or from the repository's default branch for a repository's own workflow)."""
    _, source = registry.directory(name)
    files = registry.files(name)
    parts = [f"# Workflow {name} ({source})", "", "```yaml", files.get("workflow.yaml", "").rstrip(), "```"]
    for rel in sorted(files):
        if rel.split("/", 1)[0] in ("phases", "tasks") and rel.endswith(".md") and rel.count("/") == 1:
            parts += ["", f"## {rel}", "", files[rel].rstrip()]
    return "\n".join(parts) + "\n"
