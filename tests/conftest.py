"""Fixtures every test folder may use."""

from __future__ import annotations

import pytest

from standin import AppCredentials, make_app_credentials


@pytest.fixture(scope="session")
def credentials() -> AppCredentials:
    """One GitHub App key pair for the whole run (generating an RSA key is the slow part)."""
    return make_app_credentials(4242)
