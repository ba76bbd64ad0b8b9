"""A small typed event router: handlers register for an event (and optionally actions).

githubkit has no router; gidgethub's is the model. Each concern (pull requests, reviews,
commands, check runs, installations) keeps its own `Router`; `Router.compose` joins them in
one place, and `dispatch` calls the handlers of an event in registration order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from .events import Event

C = TypeVar("C")
Handler = Callable[[Event, C], str]


class Router(Generic[C]):
    """Handlers by event name and action; a handler gets the event and a context `C`."""

    def __init__(self) -> None:
        self._routes: dict[str, list[tuple[frozenset[str] | None, Handler[C]]]] = {}

    def on(self, event: str, *actions: str) -> Callable[[Handler[C]], Handler[C]]:
        """Register the decorated function for `event` (only these `actions`, if any are given)."""
        def register(fn: Handler[C]) -> Handler[C]:
            self._routes.setdefault(event, []).append((frozenset(actions) or None, fn))
            return fn
        return register

    @classmethod
    def compose(cls, *routers: Router[C]) -> Router[C]:
        """One router holding the routes of `routers`, in order."""
        joined: Router[C] = cls()
        for router in routers:
            for event, routes in router._routes.items():
                joined._routes.setdefault(event, []).extend(routes)
        return joined

    def events(self) -> set[str]:
        """The event names something is registered for."""
        return set(self._routes)

    def dispatch(self, event: Event, context: C) -> str:
        """Run the handlers for `event`; what they did, joined, or why nothing ran."""
        routes = self._routes.get(event.name)
        if not routes:
            return f"ignored: {event.name} is not used"
        done = [fn(event, context) for actions, fn in routes if actions is None or event.action in actions]
        return "; ".join(done) if done else f"ignored: {event.name}.{event.action}"
