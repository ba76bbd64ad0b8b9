"""A local GitHub stand-in for the bot's tests and `agent-os demo`.

It answers, over real HTTP on loopback, the REST calls the bot makes, the way GitHub documents
them, keeps what was written, injects faults, and sends signed webhooks built from GitHub's
example payloads (standin/payloads).

    from standin import GitHubStandIn

    with GitHubStandIn(webhook_url=bot_url + "/webhooks/github", webhook_secret="s") as gh:
        gh.create_repo("octo/app", files={".agent-os/config.yaml": "gates: ..."},
                       collaborators={"rev": "write"})
        pr = gh.open_pull_request("octo/app", author="dev", body="Agent-OS-Session: abc",
                                  files={"src/x.py": "print(1)\n"})   # sends pull_request.opened
        github = GitHub(AppInstallationAuthStrategy(gh.app.id, gh.private_key_pem,
                        gh.installation_id), base_url=gh.url)        # the bot's client
        gh.submit_review("octo/app", pr.number, "rev", "approved")
        gh.check_runs("octo/app", pr.head_sha)["Agent OS"].conclusion

Git: every repository is a real bare git repository under `data_dir` (default: a temporary
folder). Clone and push over smart HTTP with plain git, no credentials:
    git clone {gh.url}/octo/app.git      (gh.clone_url("octo/app"); gh.git_dir(...) on disk)
    git push origin feature              -> open PRs on `feature` move their head and get
                                            pull_request.synchronize before the push returns
  open_pull_request(head_ref=B) with files=None takes a pushed branch B as it is.

REST (auth as GitHub: JWT for /app*, installation token for /repos/*):
  GET  /app                                   POST /app/installations/{id}/access_tokens
  GET  /app/hook/deliveries (per_page, cursor, status; Link rel="next"),
       /app/hook/deliveries/{id}; POST /app/hook/deliveries/{id}/attempts (redeliver)
  GET  /repos/{o}/{r}/installation            POST/PATCH/GET check-runs, GET commits/{ref}/check-runs
  POST/GET /repos/{o}/{r}/issues/{n}/comments PATCH /repos/{o}/{r}/issues/comments/{id}
  GET  /repos/{o}/{r}, collaborators/{user}/permission, contents/{path}?ref=,
       git/trees/{sha}?recursive=1, git/blobs/{sha}, commits/{ref}, compare/{base}...{head},
       branches, pulls (state/head/base), pulls/{n}, pulls/{n}/files, pulls/{n}/reviews
       (lists paginate with per_page/page and a Link header); POST pulls (from a pushed branch)

Sign in with GitHub (the App's OAuth user flow): GET /login/oauth/authorize?client_id=
  gh.client_id&redirect_uri=&state=[&login=] approves at once as gh.sign_in_as(login) (default
  the App's owner; a `login` hint wins) and redirects with code+state; POST
  /login/oauth/access_token (client_id, gh.client_secret, code | grant_type=refresh_token; JSON
  with Accept: application/json, else form) -> ghu_ token. With it: GET /user,
  /user/installations, /user/installations/{id}/repositories, /repos/{o}/{r} (permissions) and
  the repository routes, for repositories the user can read (owner, collaborator with a role,
  or public); others answer 404.

App manifest flow: POST /settings/apps/new?state=S (owner: the signed-in user) or
  /organizations/{org}/settings/apps/new?state=S with a form field `manifest` (JSON) redirects
  to the manifest's redirect_url with code+state; POST /app-manifests/{code}/conversions (once,
  within an hour) -> 201 {id, slug, pem, webhook_secret, client_id, client_secret, ...}. From
  then on the stand-in hosts that App (gh.app, its key, hook URL and secret).

GitHubStandIn(*, app_id=None, public_key_pem=None, app_slug="agent-os", app_name="Agent OS",
              app_owner="agent-os-dev", installation_id=1, webhook_url=None,
              webhook_secret="stand-in-secret", webhook_client=None,
              token_lifetime=timedelta(hours=1), hook_id=424242, host="127.0.0.1", port=0,
              data_dir=None)
  With no key given it makes one: `gh.private_key_pem`, `gh.app.id`.
  start()/stop() or `with`; .url; .app (id, slug, bot_login); .installation_id; .bot_login;
  .token_lifetime (mutable); .state (StandInState, lock-guarded records).
Repos:   create_repo(full_name, *, files, branches, default_branch, collaborators, private,
         installation_id) -> Repo; set_files(repo, {path: text|bytes|None}, branch=None,
         message=None, author=None) -> sha (a git commit, no webhook); clone_url(repo);
         add_collaborator(repo, login, role="write")  (admin|maintain|write|triage|read|none)
         add_team(org, slug, members)  (GET /orgs/{org}/teams/{slug}/members)
Scenario (each records, then sends the webhook unless send=False; see .last_delivery):
  open_pull_request(repo, *, author, files=None, title, body=None, head_ref="feature",
                    base_ref=None, draft=False, from_fork=False) -> PullRequest
  push(repo, number, files=None, *, sender=None) -> new head sha      (synchronize)
  close_pull_request(repo, number, *, merged=False, sender=None) -> PullRequest
  submit_review(repo, number, reviewer, state, *, body=None, commit_id=None) -> Review
        state: approved | changes_requested | commented; commit_id defaults to the head
  dismiss_review(repo, number, review_id, *, sender=None) -> Review
  comment(repo, number, user, body) -> IssueComment                   (issue_comment.created)
  review_comment(repo, number, user, path, line, body, *, in_reply_to=None) -> ReviewComment
  resolve_thread(repo, number, thread_id, *, sender, resolved=True) -> ReviewThread
  rerequest_check_run(repo, check_run_id, *, sender) -> Delivery
  request_action(repo, check_run_id, identifier, *, sender) -> Delivery
  ping() -> Delivery; install(sender=None) -> Delivery                (installation.created)
Webhooks: set_webhook(url, secret=None, client=None) (client: any httpx.Client, e.g. a
  Starlette TestClient); build_delivery(event, payload) -> Delivery(id, event, body, headers,
  response, attempts, payload); send(delivery) -> httpx.Response, or None when the server
  could not be reached (recorded with status_code 0, never raised); redeliver(guid or attempt
  id); deliveries; attempts (every POST: Attempt.item()/.detail() as GitHub lists them);
  last_delivery. signature_256(body, secret) computes the header value.
Inspect: check_runs(repo, head_sha) -> {name: latest CheckRun}; all_check_runs(repo=None);
  comments(repo, number); pull(repo, number); requests(method=None, path_pattern=None) ->
  [RequestRecord(method, path, query, status, body, injected, at)]; token_issuances;
  expire_tokens().
Faults: inject(method, path_pattern, status=503, *, times=1, headers=None, delay=0.0,
  message=None) -> Fault; glob patterns ("/repos/*/check-runs*", method "*" for any);
  consumed in order; status=None + delay = slow success. Helpers rate_limit_headers(reset_in)
  (403/429 with x-ratelimit-remaining: 0) and retry_after_headers(seconds). gh.faults.pending().
make_app_credentials(app_id=4242) -> AppCredentials(app_id, private_key_pem, public_key_pem).
"""

from standin.faults import Fault, rate_limit_headers, retry_after_headers
from standin.stand_in import AppCredentials, GitHubStandIn, make_app_credentials
from standin.webhooks import Delivery, signature_256

__all__ = [
    "AppCredentials",
    "Delivery",
    "Fault",
    "GitHubStandIn",
    "make_app_credentials",
    "rate_limit_headers",
    "retry_after_headers",
    "signature_256",
]
