"""What the tools call: the engine and the standards index, opened when first needed.

Opening lazily keeps `initialize` and `tools/list` instant; the embedding model loads in a
background thread from the server's start, and a search that arrives first simply waits
for it inside `embed()`. Engine and index are thread-safe, so the SDK's worker threads
(sync tools run in `anyio.to_thread`) share one of each.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from agent_os.engine import Engine
from agent_os.project import Project
from agent_os.standards.scan import Root

from .sources import Sources

if TYPE_CHECKING:
    from agent_os.standards import Embedder, StandardsIndex

log = logging.getLogger(__name__)

HANDSHAKE_GRACE_S = 2.0
SEARCH_MAX_AGE = 60.0
"""A search uses what was learnt of a repository's default branch in the last minute."""


def repository_index_path(project: Project, repository: str) -> Path:
    """Where a team server keeps the index of one repository's standards: beside its own index."""
    base = project.index_path
    folder = base.with_name(f"{base.stem}-repositories")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (repository.replace("/", "+").lower() + ".db")


class Backend:
    """The project's engine and standards index; borrowed ones are never closed here."""

    def __init__(
        self,
        project: Project,
        *,
        engine: Engine | None = None,
        index: StandardsIndex | None = None,
        embedder: Embedder | None = None,
        sources: Sources | None = None,
    ) -> None:
        self.project = project
        self.sources = sources or Sources()
        """Where each call's files are read (a door's snapshot, else the engine's source)."""
        self._engine = engine
        self._index = index
        self._embedder = embedder
        self._owns_engine = engine is None
        self._owns_index = index is None
        self._lock = threading.Lock()
        self.handshake = threading.Event()
        """Set once the client has listed the tools; background loading starts then."""
        self._warming: StandardsIndex | None = None  # the index a background sync holds
        self._repo_indexes: dict[str, StandardsIndex] = {}  # a team server's, by repository

    @property
    def engine(self) -> Engine:
        """The engine, opening the session database on first use."""
        with self._lock:
            if self._engine is None:
                self._engine = Engine.open(self.project)
            return self._engine

    @property
    def index(self) -> StandardsIndex:
        """The standards index, opening (not yet syncing) it on first use."""
        with self._lock:
            return self._open_index()

    def _open_index(self) -> StandardsIndex:
        if self._index is None:
            from agent_os.standards import StandardsIndex

            self._index = StandardsIndex.open(self.project, self.embedder)
        return self._index

    def index_for(self, repository: str | None) -> StandardsIndex:
        """The index a search of `repository` reads: on a team server, the shipped standards
        plus that repository's own (its default branch's `.agent-os/standards/`), one index
        file per repository, synced to each new version of them (only changed documents are
        re-read, only new passages embedded); otherwise the project's index."""
        libraries = getattr(self.engine, "libraries", None)
        if not repository or libraries is None:
            return self.index
        own = libraries.standards(repository, max_age=SEARCH_MAX_AGE)
        with self._lock:
            base = self._open_index()
            index = self._repo_indexes.get(repository.lower())
            if index is None:
                from agent_os.standards import StandardsIndex

                index = StandardsIndex(repository_index_path(self.project, repository), [], self.embedder)
                self._repo_indexes[repository.lower()] = index
        roots = [r for r in base.roots if r.label == "shipped"]
        index.roots = [*roots, Root("repository", Path(f"{repository}:.agent-os/standards"), own.documents)]
        return index

    def repository_indexes(self) -> dict[str, StandardsIndex]:
        """The per-repository indexes opened so far, by repository (lower case)."""
        with self._lock:
            return dict(self._repo_indexes)

    @property
    def embedder(self) -> Embedder:
        """The embedder searches use: the one given, else the process-wide real model."""
        if self._embedder is None:
            from agent_os.standards import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    def start_background_work(self, *, build_index: bool = False) -> None:
        """Begin loading the embedding model (and, if asked, refreshing the index) now.

        Returns at once: the work happens in daemon threads, and a search that arrives
        first waits for it rather than failing.
        """
        threading.Thread(target=self._background, args=(build_index,), name="agent-os-warm",
                         daemon=True).start()

    def _background(self, build_index: bool) -> None:
        # Importing torch holds the GIL for seconds: let the handshake (initialize,
        # tools/list) be answered first, or give up waiting after a moment. The ONNX
        # model loads at once (`agent-os mcp` may have started it already).
        if not getattr(self.embedder, "quick_to_load", False):
            self.handshake.wait(HANDSHAKE_GRACE_S)
        start = getattr(self.embedder, "start_loading", None)
        if callable(start):
            start()
        if build_index:
            self._warm_index()

    def _warm_index(self) -> None:
        index = None
        try:
            with self._lock:
                index = self._warming = self._open_index()
            index.sync()
        except Exception:  # a search will retry the sync and report the problem itself
            log.warning("warming the standards index failed", exc_info=True)
        finally:
            with self._lock:
                self._warming = None
                let_go = index is not None and index is not self._index  # close() ran meanwhile
            if let_go and self._owns_index:
                index.close()

    def close(self) -> None:
        """Close what this backend opened; it reopens lazily if used again."""
        with self._lock:
            engine, index = self._engine, self._index
            if self._owns_engine:
                self._engine = None
            if self._owns_index:
                self._index = None
                if index is not None and index is self._warming:
                    # The warm-up sync holds the index's lock for as long as it embeds (a
                    # project's own standards, or all of them if the shipped vectors are
                    # stale): closing it here would stall the server's exit until then.
                    # The warm-up thread closes it when its sync ends.
                    index = None
        with self._lock:
            repo_indexes, self._repo_indexes = list(self._repo_indexes.values()), {}
        for each in repo_indexes:
            each.close()
        if self._owns_engine and engine is not None:
            engine.close()
        if self._owns_index and index is not None:
            index.close()
