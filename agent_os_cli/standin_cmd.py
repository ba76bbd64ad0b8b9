"""`agent-os standin`: the local GitHub stand-in on its own, for trying the App without GitHub."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from agent_os.errors import InputError
from . import app
from .common import JsonOpt, console, emit_json, guarded, running_on


@app.command("standin")
@guarded
def standin_command(
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 9000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="Empty or new folder for the git repositories and the App's key "
        "(default: a temporary folder, removed at exit).")] = None,
    repo: Annotated[list[str] | None, typer.Option(
        "--repo", help="Repository to create as OWNER/NAME (repeatable).")] = None,
    webhook_url: Annotated[str, typer.Option(
        help="Where webhooks go: your `agent-os serve`.")] = "http://127.0.0.1:8000/webhooks/github",
    webhook_secret: Annotated[str, typer.Option(help="Secret that signs the webhooks.")] = "stand-in-secret",
    user: Annotated[str, typer.Option(
        help="The GitHub user \"Sign in with GitHub\" signs in as (owner of the repositories).")] = "octo",
    json_out: JsonOpt = False,
) -> None:
    """Run a local GitHub stand-in until Ctrl-C: the App's REST API, webhooks, git over HTTP.

    Prints what `agent-os serve` needs (base URL, App id, private key file, webhook secret),
    the OAuth client id and secret for "Sign in with GitHub" (it approves at once as --user),
    and a clone URL per repository. Push a branch with plain `git push`, open a pull
    request with `POST /repos/OWNER/NAME/pulls`, and every push to a PR's branch sends
    `pull_request` `synchronize` to the webhook URL. Nothing is kept after exit.
    """
    import tempfile

    from standin import GitHubStandIn

    repos = repo or [f"{user}/app"]
    if data_dir is not None and data_dir.exists() and any(data_dir.iterdir()):
        raise InputError(f"{data_dir} is not empty.", hint="Give a new or empty folder to --data-dir.")
    holder = None
    if data_dir is None:
        holder = tempfile.TemporaryDirectory(prefix="agent-os-standin-")
        data_dir = Path(holder.name)
    data_dir.mkdir(parents=True, exist_ok=True)
    gh = GitHubStandIn(host=host, port=port, data_dir=data_dir / "git",
                       webhook_url=webhook_url, webhook_secret=webhook_secret)
    key = data_dir / "app.pem"
    key.write_text(gh.private_key_pem or "")
    key.chmod(0o600)
    try:
        gh.start()
    except (OSError, RuntimeError) as exc:
        raise InputError(f"Cannot listen on {host}:{port}: {exc}.",
                         hint="Pick another --port (0 picks a free one).") from None
    gh.sign_in_as(user)
    try:
        for name in repos:
            try:
                gh.create_repo(name, files={"README.md": f"# {name.partition('/')[2]}\n"})
            except ValueError as exc:
                raise InputError(str(exc), hint="Name repositories OWNER/NAME.") from None
        info = {
            "url": gh.url,
            "app_id": gh.app.id,
            "app_slug": gh.app.slug,
            "installation_id": gh.installation_id,
            "private_key_path": str(key),
            "webhook_secret": webhook_secret,
            "webhook_url": webhook_url,
            "repositories": {name: gh.clone_url(name) for name in repos},
            "oauth": {"client_id": gh.client_id, "client_secret": gh.client_secret,
                      "signed_in_as": user},
            "user_token": gh.user_token(user, timedelta(days=1)),
            "env": {
                "AGENT_OS_APP_ID": str(gh.app.id),
                "AGENT_OS_PRIVATE_KEY": str(key),
                "AGENT_OS_WEBHOOK_SECRET": webhook_secret,
                "AGENT_OS_GITHUB_URL": gh.url,
            },
        }
        if json_out:
            emit_json(info)
        else:
            _print(info)
        running_on()
        stop = threading.Event()
        # SIGTERM (docker stop, kill) ends as cleanly as Ctrl-C: the temporary folder goes.
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        gh.stop()
        if holder is not None:
            holder.cleanup()


def _print(info: dict) -> None:
    console.print(f"GitHub stand-in at [bold]{escape(info['url'])}[/] (Ctrl-C stops it)", highlight=False)
    console.print(f"  App id {info['app_id']} (slug {escape(info['app_slug'])}), installation "
                  f"{info['installation_id']}", highlight=False)
    console.print(f"  private key  {escape(info['private_key_path'])}", highlight=False)
    console.print(f"  webhook      {escape(info['webhook_url'])} signed with "
                  f"{escape(info['webhook_secret'])}", highlight=False)
    for name, url in info["repositories"].items():
        console.print(f"  {escape(name)}: git clone {escape(url)}", highlight=False)
    oauth = info["oauth"]
    console.print(f"  Sign in with GitHub: client id {escape(oauth['client_id'])}, secret "
                  f"{escape(oauth['client_secret'])}, approves as {escape(oauth['signed_in_as'])}",
                  highlight=False)
    first = next(iter(info["repositories"]))
    console.print(f"  {escape(oauth['signed_in_as'])}'s token {escape(info['user_token'])}; open a "
                  f"PR from a pushed branch:", highlight=False)
    console.print(f"    curl -X POST -H 'Authorization: token {escape(info['user_token'])}' "
                  f"{escape(info['url'])}/repos/{escape(first)}/pulls "
                  "-d '{\"title\": \"My change\", \"head\": \"BRANCH\", \"base\": \"main\"}'",
                  highlight=False, soft_wrap=True)
    console.print("Start the App against it:", highlight=False)
    env = " ".join(f"{k}={v}" for k, v in info["env"].items())
    console.print(f"  {escape(env)} agent-os serve", highlight=False, soft_wrap=True)
