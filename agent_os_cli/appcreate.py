"""`agent-os app create`: the GitHub App from `app.yml`, by GitHub's App manifest flow.

A local page posts the manifest to GitHub (a person's account, or an organisation's); the
person confirms there; GitHub redirects back to this command's callback with a code, which
`POST /app-manifests/{code}/conversions` turns into the App's id, slug, private key,
webhook secret and OAuth client credentials. They are written to `.agent-os/app.pem` and
`.agent-os/app.env` (owner-only, git-ignored), where `agent-os serve` reads them.
See https://docs.github.com/en/apps/sharing-github-apps/registering-a-github-app-from-a-manifest
"""

from __future__ import annotations

import html
import json
import os
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import yaml

from agent_os.errors import InputError
from agent_os.project import AGENT_OS_DIR

ENV_FILE = "app.env"
KEY_FILE = "app.pem"


def build_manifest(app_yml: Path, public_url: str, redirect_url: str) -> dict[str, Any]:
    """The manifest GitHub receives: app.yml with this server's webhook and callback URLs."""
    try:
        manifest = yaml.safe_load(app_yml.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"Cannot read the App manifest {app_yml}: {exc}.",
                         hint="Run this in the Agent OS checkout (app.yml is at its root), or pass --manifest.") from None
    public = public_url.rstrip("/")
    manifest["hook_attributes"] = {**(manifest.get("hook_attributes") or {}), "url": f"{public}/webhooks/github"}
    manifest["redirect_url"] = redirect_url
    manifest["callback_urls"] = [f"{public}/auth/callback"]
    return manifest


def new_app_url(github_url: str, org: str | None, state: str) -> str:
    """Where the browser posts the manifest: the person's or the organisation's new-App page."""
    # Imported here: bot.signin brings FastAPI, which every other command would pay for at start.
    from bot.signin import web_url

    where = f"/organizations/{org}/settings/apps/new" if org else "/settings/apps/new"
    return f"{web_url(github_url)}{where}?state={state}"


@dataclass(frozen=True)
class CreatedApp:
    """What the conversion gave, and where it was written."""

    app_id: int
    slug: str
    name: str
    owner: str
    html_url: str
    env_file: Path
    key_file: Path


def write_app(project_root: Path, app: dict[str, Any], *, github_url: str, public_url: str) -> CreatedApp:
    """Write the App's key and settings where `agent-os serve` reads them (owner-only files)."""
    base = project_root / AGENT_OS_DIR
    base.mkdir(parents=True, exist_ok=True)
    key = base / KEY_FILE
    env = base / ENV_FILE
    _private_write(key, app["pem"])
    lines = {
        "AGENT_OS_APP_ID": str(app["id"]),
        "AGENT_OS_APP_SLUG": app["slug"],
        "AGENT_OS_PRIVATE_KEY": f"{AGENT_OS_DIR}/{KEY_FILE}",
        "AGENT_OS_WEBHOOK_SECRET": app["webhook_secret"],
        "AGENT_OS_CLIENT_ID": app["client_id"],
        "AGENT_OS_CLIENT_SECRET": app["client_secret"],
        "AGENT_OS_GITHUB_URL": github_url,
        "AGENT_OS_PUBLIC_URL": public_url.rstrip("/"),
    }
    _private_write(env, "# Written by `agent-os app create`; `agent-os serve` reads it. Keep it secret.\n"
                   + "".join(f"{k}={v}\n" for k, v in lines.items()))
    _ignore(base, [KEY_FILE, ENV_FILE])
    owner = (app.get("owner") or {}).get("login", "")
    return CreatedApp(app["id"], app["slug"], app["name"], owner, app.get("html_url", ""), env, key)


def _private_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.touch(mode=0o600)
    os.chmod(tmp, 0o600)
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _ignore(base: Path, names: list[str]) -> None:
    gitignore = base / ".gitignore"
    text = gitignore.read_text(encoding="utf-8") if gitignore.is_file() else ""
    missing = [n for n in names if n not in text.split()]
    if missing:
        gitignore.write_text(text + ("" if text.endswith("\n") or not text else "\n")
                             + "# The GitHub App's key and secrets (agent-os app create).\n"
                             + "".join(f"{n}\n" for n in missing), encoding="utf-8")


def convert(github_url: str, code: str) -> dict[str, Any]:
    """`POST /app-manifests/{code}/conversions`: the new App with its key and secrets."""
    from githubkit import GitHub

    gh = GitHub(base_url=github_url, auto_retry=False, http_cache=False)
    answer = gh.rest.apps.create_from_manifest(code)
    return answer.json()


class ManifestFlow:
    """The local page and callback of one `agent-os app create`; `wait()` for the result."""

    def __init__(self, project_root: Path, app_yml: Path, *, github_url: str, public_url: str,
                 org: str | None = None, port: int = 0) -> None:
        self.project_root, self.github_url, self.public_url, self.org = project_root, github_url, public_url, org
        self.state = secrets.token_urlsafe(16)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.manifest = build_manifest(app_yml, public_url, f"{self.url}/callback")
        self.result: CreatedApp | None = None
        self.error: str | None = None
        self._done = threading.Event()

    def page(self) -> str:
        """The page that posts the manifest to GitHub (by itself, or with one click)."""
        action = html.escape(new_app_url(self.github_url, self.org, self.state))
        manifest = html.escape(json.dumps(self.manifest))
        who = f"the organisation {html.escape(self.org)}" if self.org else "your account"
        return (f"<!doctype html><title>Create the Agent OS GitHub App</title>"
                f"<p>Creating the GitHub App from app.yml for {who}. GitHub asks you to confirm.</p>"
                f'<form method="post" action="{action}"><input type="hidden" name="manifest" value="{manifest}">'
                f'<button type="submit">Create the GitHub App</button></form>'
                "<script>document.forms[0].submit()</script>")

    def _callback(self, query: dict[str, list[str]]) -> tuple[int, str]:
        code, state = query.get("code", [""])[0], query.get("state", [""])[0]
        if not code or not secrets.compare_digest(state, self.state):
            return 400, "This callback was not started by this `agent-os app create`. Run it again."
        try:
            app = convert(self.github_url, code)
            self.result = write_app(self.project_root, app, github_url=self.github_url, public_url=self.public_url)
        except Exception as exc:  # noqa: BLE001 - reported to the person and the command
            self.error = f"GitHub did not convert the manifest code: {exc}"
            self._done.set()
            return 502, self.error
        self._done.set()
        return 200, (f"Created the GitHub App {self.result.name} ({self.result.slug}). Its key and secrets are in "
                     f"{self.result.env_file.parent}. You can close this page.")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        flow = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                target = urlsplit(self.path)
                if target.path == "/":
                    status, body = 200, flow.page()
                elif target.path == "/callback":
                    status, text = flow._callback(parse_qs(target.query))
                    body = f"<!doctype html><title>Agent OS</title><p>{html.escape(text)}</p>"
                else:
                    status, body = 404, "Not found"
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:  # quiet: the command says what happens
                pass

        return Handler

    def run(self, on_ready: Callable[[str], None] | None = None, timeout: float = 600.0) -> CreatedApp:
        """Serve until GitHub calls back (or `timeout`); return what was written."""
        thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="agent-os-app-create")
        thread.start()
        try:
            if on_ready is not None:
                on_ready(self.url)
            if not self._done.wait(timeout):
                raise InputError(f"No answer from GitHub within {timeout:.0f} s.",
                                 hint="Open the page, confirm on GitHub, and run `agent-os app create` again.")
        finally:
            self.server.shutdown()
            self.server.server_close()
        if self.error or self.result is None:
            raise InputError(self.error or "The App was not created.", hint="Run `agent-os app create` again.")
        return self.result


# --- the command --------------------------------------------------------------------------

import typer  # noqa: E402 - the command below; the flow above is importable without it
from typing import Annotated  # noqa: E402

from . import app as cli  # noqa: E402
from .common import ProjectOpt, console, guarded, open_project, running_on  # noqa: E402

app_group = typer.Typer(help="The GitHub App of the team server.", no_args_is_help=True)
cli.add_typer(app_group, name="app")


@app_group.command("create")
@guarded
def create_command(
    public_url: Annotated[str, typer.Option("--public-url", help="Where `agent-os serve` will be reachable, e.g. "
                                            "https://agent-os.example.com (webhooks and sign-in go there).")],
    org: Annotated[str | None, typer.Option("--org", help="Create it for this organisation (you must be one of "
                                            "its owners) instead of your own account.")] = None,
    github_url: Annotated[str, typer.Option("--github-url", help="GitHub's API URL (GitHub Enterprise Server: "
                                            "https://HOST/api/v3).")] = "https://api.github.com",
    manifest: Annotated[Path | None, typer.Option("--manifest", help="The App manifest (default: app.yml of "
                                                  "this checkout).")] = None,
    port: Annotated[int, typer.Option(help="Local port of the page and callback (0: any free one).")] = 0,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the page in a browser.")] = True,
    project: ProjectOpt = None,
) -> None:
    """Create the GitHub App from app.yml with GitHub's App manifest flow, and write its key
    and secrets to .agent-os/app.pem and .agent-os/app.env, where `agent-os serve` reads them.

    A local page posts the manifest to GitHub; you confirm there (signed in to GitHub, as an
    owner of --org if given); GitHub sends you back here and the App's id, slug, key,
    webhook secret and OAuth client credentials are saved. Then install the App on your
    repositories and run `agent-os serve`.
    """
    root = open_project(project).root
    yml = manifest or Path(__file__).resolve().parents[1] / "app.yml"
    flow = ManifestFlow(root, yml, github_url=github_url, public_url=public_url, org=org, port=port)

    def ready(url: str) -> None:
        console.print(f"Open {url}/ in a browser signed in to GitHub (waiting for GitHub's answer…)",
                      highlight=False)
        if open_browser:
            import webbrowser

            webbrowser.open(f"{url}/")

    running_on()
    created = flow.run(ready)
    console.print(f"[green]✓[/] Created the GitHub App {created.name} (slug {created.slug}, id {created.app_id}) "
                  f"owned by {created.owner}: {created.html_url}", highlight=False)
    console.print(f"Saved {created.key_file} and {created.env_file} (git-ignored). Next: install the App on "
                  "your repositories (its page, Install App), then run `agent-os serve`.", highlight=False)
