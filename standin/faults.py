"""Faults the stand-in injects into its answers: errors, rate limits, slow responses."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase


@dataclass
class Fault:
    """One queued fault: matching requests get `status` (or pass through late if None)."""

    method: str
    path_pattern: str
    status: int | None = 503
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    message: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """Glob match on method (`*` for any) and path (e.g. `/repos/*/check-runs*`)."""
        return (self.method == "*" or self.method.upper() == method.upper()) and fnmatchcase(
            path, self.path_pattern
        )


class FaultQueue:
    """Faults consumed in the order they were injected, each `times` times."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        """Queue a fault behind the ones already waiting."""
        if fault.times < 1:
            raise ValueError("a fault must fire at least once (times >= 1)")
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first waiting fault matching this request, spending one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        """Faults not yet (fully) consumed, in order."""
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        """Drop every waiting fault."""
        with self._lock:
            self._faults.clear()


def rate_limit_headers(reset_in: float = 1.0) -> dict[str, str]:
    """Headers of GitHub's primary rate-limit answer (use with status 403 or 429)."""
    return {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-used": "5000",
        "x-ratelimit-reset": str(int(time.time() + reset_in + 0.999)),
        "x-ratelimit-resource": "core",
    }


def retry_after_headers(seconds: int = 1) -> dict[str, str]:
    """Headers of GitHub's secondary rate-limit answer (status 429 or 403)."""
    return {"retry-after": str(seconds)}
