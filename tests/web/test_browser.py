"""The session page in a real headless Chromium (Debian's `chromium`): it renders, shows
the phases, and every link on it that stays on the server leads to a page that renders."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"),
]


def render(url: str, profile) -> str:
    """The DOM Chromium builds for `url`, after loading it."""
    out = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if a.get("id"):
            self.ids.add(a["id"])


def test_session_page_renders_in_chromium_and_its_links_work(pages_server, tmp_path):
    server, engine, sid = pages_server
    dom = render(f"{server.url}/sessions/{sid}", tmp_path / "profile")
    state = engine.state(sid)
    assert f"<title>{sid}" in dom
    for phase in state.phases:
        assert re.search(rf'id="phase-{phase.number}"', dom), phase.title
        assert phase.title in dom
    assert "in progress" in dom and "complete" in dom

    links = Links()
    links.feed(dom)
    anchors = [h for h in links.hrefs if h.startswith("#")]
    assert anchors and all(h[1:] in links.ids for h in anchors)  # in-page links land on a section
    internal = sorted({h for h in links.hrefs if h.startswith("/")})
    assert f"/sessions/{sid}.json" in internal and "/sessions" in internal
    for href in internal:
        page = render(server.url + href, tmp_path / "profile")
        assert "404" not in page[:400] and "Not Found" not in page, href
    sessions_dom = render(server.url + "/sessions", tmp_path / "profile")
    assert f'href="/sessions/{sid}"' in sessions_dom
