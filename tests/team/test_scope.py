"""Tokens limited to repositories or organisations."""

from __future__ import annotations

import pytest

from agent_os.db import Database
from agent_os.errors import InputError
from agent_os.tokens import TokenStore, repository_allowed


def test_limits_are_kept_and_checked(tmp_path):
    store = TokenStore(Database.open(tmp_path / "t.db"))
    info, secret = store.create("ci", ["acme/*", "other/app"])
    assert store.verify(secret).repositories == ("acme/*", "other/app")
    assert info.allows("acme/webapp") and info.allows("ACME/billing") and info.allows("other/app")
    assert not info.allows("other/lib") and not info.allows(None)
    unlimited, _ = store.create("alice")
    assert unlimited.repositories is None and unlimited.allows(None) and unlimited.allows("x/y")
    assert store.list()[0].as_dict()["repositories"] == ["acme/*", "other/app"]
    for bad in ([], ["acme"], ["../x"], ["acme/we b"]):
        with pytest.raises(InputError):
            store.create("bad", bad)
    assert [t.name for t in store.list()] == ["ci", "alice"]  # nothing written by a refused call
    assert repository_allowed(None, None)
