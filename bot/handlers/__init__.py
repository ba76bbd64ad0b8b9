"""What each webhook event means for the sessions, and what the bot writes back.

Handlers run in the worker, never in the request. One module per concern, each with its
own router, composed here: `pulls` (linking, heads, gate policy), `reviews` (verdicts,
comments, threads), `commands` (`/agent-os` in PR comments), `checkruns` (re-run and the
Re-check button), `ci` (CI's check runs and statuses on the head commit), `installs`
(installations, ping). Handlers decide; they act through the
narrow `GitHubPort` (reads now, writes queued in the outbox).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from agent_os.engine import Engine

from ..events import Event
from ..port import GitHubPort
from ..routing import Router
from ..settings import Settings
from . import checkruns, ci, commands, installs, pulls, reviews
from .commands import parse_command
from .context import Context, PermanentError
from .pulls import refresh, session_ids_in, spec_dirs_in

ROUTER: Router[Context] = Router.compose(pulls.router, reviews.router, commands.router, checkruns.router,
                                         ci.router, installs.router)


@dataclass
class Handlers:
    """Every event's handlers over one engine and one GitHub port."""

    engine: Engine
    github: GitHubPort
    settings: Settings
    router: Router[Context] = field(default=ROUTER)

    def __post_init__(self) -> None:
        self.context = Context(self.engine, self.github, self.settings)

    def handle(self, event: Event) -> str:
        """Process one delivery; returns what was done, for logs. Raises to fail it."""
        env = event.envelope
        sender = env.sender.login if env.sender else ""
        if sender.lower() == self.settings.bot_login.lower():
            return "ignored: sent by this app"
        if env.repo and env.installation_id:
            self.github.remember_installation(env.repo, env.installation_id)
        try:
            return self.router.dispatch(event, self.context)
        except ValidationError as exc:
            raise PermanentError(f"{event.name} payload lacks fields we need: {exc.errors()[0]['loc']}") from None

    def refresh(self, repo: str, number: int) -> None:
        """Re-read the PR (head, base config, reviews) and re-post every check run."""
        refresh(self.context, repo, number)

    def reconcile(self, repo: str, number: int) -> None:
        """After downtime: re-read an open PR (head, policy, reviews, threads) and sync its checks."""
        refresh(self.context, repo, number, resend=False, threads=True)


__all__ = ["Context", "Handlers", "PermanentError", "ROUTER", "parse_command", "session_ids_in", "spec_dirs_in"]
