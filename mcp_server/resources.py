"""Read-only views of the standards and workflow definitions, for MCP resources.

Paths come from the client, so every read is confined to a known root: a `../` or an
absolute path names nothing and reads as "not found", never as a file elsewhere.
"""

from __future__ import annotations

import functools

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.server.mcpserver.resources import FunctionResource

from agent_os.errors import AgentOSError
from agent_os.files import FileMissing, PathOutside, WorkingTree
from agent_os.project import Project
from agent_os.registry import Registry
from agent_os.standards.scan import Root, root_labels, scan

from .backend import Backend
from .sources import repository_of


def list_standards(project: Project) -> list[str]:
    """Relative paths of the standards documents; a later root's file overrides an earlier one's."""
    paths: dict[str, None] = {}
    for found in scan(root_labels(project)):
        paths[found.rel_path] = None
    return sorted(paths)


def read_standard(project: Project, rel: str, roots: list[Root] | None = None) -> str | None:
    """The text of standards document `rel`, or None if there is none by that path (`roots`:
    the project's `root_labels`, when the caller reads many documents)."""
    if not isinstance(rel, str) or not rel.endswith(".md") or "\\" in rel or "\x00" in rel:
        return None
    for root in reversed(roots if roots is not None else root_labels(project)):
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


def describe_standard(project: Project, rel: str, roots: list[Root] | None = None) -> str:
    """What a standards document is for: its title and the summary of its front matter."""
    return _description(read_standard(project, rel, roots) or "", rel)


@functools.lru_cache(maxsize=1024)
def _description(text: str, rel: str) -> str:
    # Cached: every server built lists every document, and parsing the front matter of
    # each is most of that; the text is the key, so an edited document is described anew.
    from agent_os.standards.chunking import split_front_matter

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


def register_resources(server: MCPServer, backend: Backend) -> None:
    """Offer the standards and workflows as resources: by URI template, as an index each, and
    one concrete entry per document so `resources/list` describes every one."""
    project = backend.project

    def standard_text(path: str, repository: str | None = None) -> str:
        libraries = backend.engine.libraries
        if repository and libraries is not None:  # the repository's own override the shipped ones
            try:
                own = libraries.standards(repository, max_age=60.0).documents.get(path)
            except AgentOSError:
                own = None
            if own is not None:
                return own.decode("utf-8", errors="replace")
        text = read_standard(project, path)
        if text is None:
            raise ResourceNotFoundError(f"No standards document {path!r}; read standards://index for the list.")
        return text

    @server.resource("standards://{+path}", name="standard", mime_type="text/markdown",
                     description="A standards document by its path, e.g. standards://security/rate-limiting.md")
    def standard(path: str, ctx: Context) -> str:
        return standard_text(path, repository_of(ctx))

    def workflow_text(name: str, repository: str | None = None) -> str:
        try:
            return read_workflow(backend.engine.registry_for(repository), name)
        except AgentOSError as exc:
            raise ResourceNotFoundError(str(exc)) from None

    @server.resource("workflow://{name}", name="workflow", mime_type="text/markdown",
                     description="A workflow definition: its YAML and every phase's instructions.")
    def workflow(name: str, ctx: Context) -> str:
        return workflow_text(name, repository_of(ctx))

    @server.resource("standards://index", name="standards-index", mime_type="text/markdown",
                     description="Every standards document, with its resource URI.")
    def standards_index() -> str:
        lines = ["# Standards", ""]
        lines += [f"- [{rel}](standards://{rel})" for rel in list_standards(project)]
        return "\n".join(lines) + "\n"

    @server.resource("workflow://index", name="workflows-index", mime_type="text/markdown",
                     description="Every workflow this project can start, with its resource URI.")
    def workflows_index() -> str:
        # A static resource gets no request context (the SDK's rule): the shipped workflows and
        # the server's own; a repository's own are read by name (workflow://NAME) or listed
        # with list_workflows.
        lines = ["# Workflows", ""]
        for w in backend.engine.list_workflows():
            lines.append(f"- [{w.name}](workflow://{w.name}) v{w.version} ({w.source}): {w.description}")
        return "\n".join(lines) + "\n"

    # Concrete entries so resources/list shows each document; reads stay live.
    roots = root_labels(project)
    for rel in list_standards(project):
        server.add_resource(FunctionResource(  # not from_function: nothing to validate in a call with no arguments
            fn=functools.partial(standard_text, rel), uri=f"standards://{rel}", name=rel, mime_type="text/markdown",
            description=describe_standard(project, rel, roots)))
    registry = Registry(project)
    for name in registry.names():
        server.add_resource(FunctionResource(
            fn=functools.partial(workflow_text, name), uri=f"workflow://{name}", name=name, mime_type="text/markdown",
            description=describe_workflow(registry, name)))
