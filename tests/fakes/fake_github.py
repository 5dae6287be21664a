#!/usr/bin/env python3
"""A fake GitHub REST API server for tests: standard library only.

Binds 127.0.0.1 on a free port (or --port N) and prints "PORT <n>" as its first stdout
line. Serves the world in github_world.json beside this file (or --world FILE), kept in
memory; mutations change the memory only. Responses have GitHub's shapes, the content type
"application/json; charset=utf-8", GitHub's rate-limit headers (x-ratelimit-limit,
-remaining, -used, -reset, -resource) and x-github-request-id. URL fields and Link headers
point back at this server (http://<Host header>/...); html_url fields point at github.com.

Auth: when FAKE_GITHUB_TOKEN is set, every API request needs "Authorization: Bearer <it>"
(or "token <it>"); otherwise 401 {"message": "Bad credentials", ...}.

API endpoints ({o}/{r} unknown -> 404 "Not Found" for the repo and every path under it):
  GET   /repos/{o}/{r}
  GET   /repos/{o}/{r}/pulls                 state, head, base, sort, direction, paged
  GET   /repos/{o}/{r}/pulls/{n}
  GET   /repos/{o}/{r}/pulls/{n}/files       paged
  POST  /repos/{o}/{r}/pulls/{n}/requested_reviewers   {"reviewers": [...]} -> 201 PR
  GET   /repos/{o}/{r}/issues                state, labels, sort, direction, since, creator,
                                             assignee; includes PRs (with "pull_request")
  GET   /repos/{o}/{r}/issues/{n}
  PATCH /repos/{o}/{r}/issues/{n}            state, state_reason, title, body, labels, assignees
  POST  /repos/{o}/{r}/issues/{n}/labels     {"labels": [...]} -> 200 full label list
  GET   /repos/{o}/{r}/issues/{n}/labels, GET /repos/{o}/{r}/labels
  GET   /repos/{o}/{r}/issues/{n}/comments   paged;  POST {"body": "..."} -> 201 comment
  GET   /repos/{o}/{r}/compare/{base}...{head}   tags, branches or commit SHAs on the history
  GET   /repos/{o}/{r}/tags, /commits (sha, path, author, since, until), /commits/{ref}
  GET   /repos/{o}/{r}/releases, /releases/latest, /releases/tags/{tag}
  POST  /repos/{o}/{r}/releases              {tag_name, name, body, draft, ...} -> 201
  GET   /repos/{o}/{r}/actions/runs          branch, status, event, actor, head_sha, paged
  GET   /repos/{o}/{r}/actions/runs/{id}, /actions/runs/{id}/jobs (paged)
  GET   /repos/{o}/{r}/collaborators         permission, paged
  GET   /user, GET /rate_limit (the latter is free, as on GitHub)
Every list is paged like GitHub: per_page (default 30, max 100), page (1-based) and a Link
header with rel="prev"/"next"/"last"/"first" whose absolute URLs keep the other query
parameters.

Control endpoints (no auth, never recorded, never faulted):
  GET  /_health     {"status": "ok"}
  GET  /_requests   JSON list of every API request received, oldest first: {"method",
                    "path" (with query), "headers": {lower-case name: value},
                    "body": parsed JSON or the raw text, or null, "peer_port": the
                    client's TCP port, one per connection}
  POST /_reset      clears the log and the faults, reloads the world file, resets the clock
                    and the rate-limit counters
  POST /_fail       {"mode": "403"|"404"|"422"|"429"|"500"|"502"|"malformed"|"ratelimit"|
                     "slow"|"cut"|"none", "count": n (default 1; -1 forever),
                     "path_contains": "...", "method": "GET", "retry_after": s,
                     "delay_ms": ms (slow; default 2000), "append": false}
                    Replaces the armed faults (append: true adds one; mode none clears all).
                    Each matching API request uses up one count of the first matching fault.
                    Error modes answer before the request is carried out (no state change);
                    malformed (200, truncated JSON) and cut (Content-Length larger than the
                    body, then close) damage the real answer of a request that WAS carried
                    out; slow sleeps delay_ms, then answers normally.
                    ratelimit: 403 primary rate limit, x-ratelimit-remaining 0, reset =
                    now + retry_after (default 1). 429: secondary rate limit, Retry-After
                    when retry_after is given. 403 with retry_after: secondary rate limit
                    with Retry-After; without: "Resource not accessible by integration".
                    502: GitHub's HTML "Unicorn" page (text/html).
  POST /_ratelimit  {"limit": n, "remaining": n, "reset_in": s}: sets the primary counters;
                    at remaining 0 every API request gets the primary rate-limit 403 until
                    the reset time passes
  GET  /_state/{o}/{r}/issues/{n}  the stored issue or PR as the issues API renders it,
                    plus for PRs "head", "base", "requested_reviewers", "merged_at", and
                    "comment_list" (all comments)
  GET  /_state/{o}/{r}/releases    the stored releases

The clock: timestamps written by mutations are the world's "now" plus the real seconds
since start (or reset). x-ratelimit-reset is real epoch seconds, since clients sleep on it.
"""

import argparse
import calendar
import copy
import hashlib
import json
import math
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

DOCS = "https://docs.github.com/rest"
DEFAULT_WORLD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "github_world.json")
WEB = "https://github.com"
CONTENT_TYPE = "application/json; charset=utf-8"
FAULT_MODES = ("403", "404", "422", "429", "500", "502", "malformed", "ratelimit", "slow",
               "cut", "none")

DOC_REPO = DOCS + "/repos/repos#get-a-repository"
DOC_PULLS = DOCS + "/pulls/pulls#list-pull-requests"
DOC_PULL = DOCS + "/pulls/pulls#get-a-pull-request"
DOC_PULL_FILES = DOCS + "/pulls/pulls#list-pull-requests-files"
DOC_REVIEWERS = DOCS + "/pulls/review-requests#request-reviewers-for-a-pull-request"
DOC_ISSUES = DOCS + "/issues/issues#list-repository-issues"
DOC_ISSUE = DOCS + "/issues/issues#get-an-issue"
DOC_ISSUE_UPDATE = DOCS + "/issues/issues#update-an-issue"
DOC_LABELS_ADD = DOCS + "/issues/labels#add-labels-to-an-issue"
DOC_COMMENTS = DOCS + "/issues/comments#list-issue-comments"
DOC_COMMENT_CREATE = DOCS + "/issues/comments#create-an-issue-comment"
DOC_COMPARE = DOCS + "/commits/commits#compare-two-commits"
DOC_COMMITS = DOCS + "/commits/commits#list-commits"
DOC_RELEASE_CREATE = DOCS + "/releases/releases#create-a-release"
DOC_RELEASES = DOCS + "/releases/releases#list-releases"
DOC_RUNS = DOCS + "/actions/workflow-runs#list-workflow-runs-for-a-repository"
DOC_JOBS = DOCS + "/actions/workflow-jobs#list-jobs-for-a-workflow-run"
DOC_COLLABORATORS = DOCS + "/collaborators/collaborators#list-repository-collaborators"

ROLE_PERMISSIONS = {
    "admin": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
    "maintain": {"admin": False, "maintain": True, "push": True, "triage": True, "pull": True},
    "write": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
    "triage": {"admin": False, "maintain": False, "push": False, "triage": True, "pull": True},
    "read": {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
}
RUN_CONCLUSIONS = ("success", "failure", "neutral", "cancelled", "skipped", "timed_out",
                   "action_required", "stale", "startup_failure")
RUN_STATUSES = ("queued", "in_progress", "completed", "requested", "waiting", "pending")

UNICORN_HTML = (b"<!DOCTYPE html>\n<html>\n<head><title>Unicorn! &middot; GitHub</title></head>\n"
                b"<body><h1>No server is currently available to service your request.</h1>\n"
                b"<p>Sorry about that. Please try refreshing and contact us if the problem "
                b"persists.</p></body>\n</html>\n")


# ---- time ------------------------------------------------------------------------------
def parse_ts(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def format_ts(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


def node_id(prefix, number):
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    out = ""
    n = int(number)
    while True:
        out = digits[n % 62] + out
        n //= 62
        if n == 0:
            break
    return "%s_kwDOM%s" % (prefix, out)


class ApiError(Exception):
    """An answer in GitHub's error shape."""

    def __init__(self, status, message, doc=DOCS, errors=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.doc = doc
        self.errors = errors
        self.headers = headers or {}

    def body(self):
        obj = {"message": self.message}
        if self.errors is not None:
            obj["errors"] = self.errors
        obj["documentation_url"] = self.doc
        obj["status"] = str(self.status)
        return obj


def not_found(doc=DOCS):
    return ApiError(404, "Not Found", doc)


def validation_failed(doc, errors):
    return ApiError(422, "Validation Failed", doc, errors=errors)


# ---- state -----------------------------------------------------------------------------
class State:
    def __init__(self, world_path):
        self.world_path = world_path
        self.lock = threading.Lock()  # guards every field below
        self.reset()

    def reset(self):
        with open(self.world_path, encoding="utf-8") as f:
            self.world = json.load(f)
        self.repos = {}  # lower-case "owner/name" -> repo dict from the world
        for full_name, repo in self.world.get("repos", {}).items():
            repo["full_name"] = full_name
            repo.setdefault("issues", [])
            repo.setdefault("releases", [])
            repo.setdefault("labels", [])
            repo.setdefault("collaborators", [])
            repo.setdefault("commits", [])
            repo.setdefault("tags", {})
            repo.setdefault("branches", {})
            repo.setdefault("workflow_runs", [])
            self.repos[full_name.lower()] = repo
        self.users = self.world.get("users", {})
        self.viewer = self.world.get("viewer", "ladder-bot")
        self.started = time.time()
        world_now = self.world.get("now")
        self.clock_base = parse_ts(world_now) if world_now else None
        self.requests = []
        self.faults = []
        self.rl_limit = 5000
        self.rl_used = 0
        self.rl_reset = int(time.time()) + 3600
        self.request_counter = 0
        self.next_comment_id = 2450000001
        self.next_label_id = 7200000001
        self.next_release_id = 181000001

    def now(self):
        """The fake clock, epoch seconds."""
        if self.clock_base is None:
            return time.time()
        return self.clock_base + (time.time() - self.started)

    def now_ts(self):
        return format_ts(self.now())

    def take_fault(self, method, path):
        with self.lock:
            for fault in self.faults:
                if fault["method"] and fault["method"] != method:
                    continue
                if fault["path_contains"] and fault["path_contains"] not in path:
                    continue
                if fault["count"] > 0:
                    fault["count"] -= 1
                    if fault["count"] == 0:
                        self.faults.remove(fault)
                return dict(fault)
            return None

    def user(self, login, base):
        info = self.users.get(login, {})
        uid = info.get("id", 1000000 + sum(ord(c) for c in login))
        kind = info.get("type", "User")
        obj = {
            "login": login,
            "id": uid,
            "node_id": node_id({"Bot": "BOT", "Organization": "O"}.get(kind, "U"), uid),
            "avatar_url": "https://avatars.githubusercontent.com/u/%d?v=4" % uid,
            "gravatar_id": "",
            "url": "%s/users/%s" % (base, login),
            "html_url": "%s/%s" % (WEB, login) if kind != "Bot"
                        else "%s/apps/%s" % (WEB, login.replace("[bot]", "")),
            "type": kind,
            "user_view_type": "public",
            "site_admin": False,
        }
        return obj


STATE = None  # set in main()


# ---- rendering -------------------------------------------------------------------------
class Renderer:
    """Turns stored world records into GitHub REST shapes. Call with STATE.lock held."""

    def __init__(self, state, base):
        self.s = state
        self.base = base

    def user(self, login):
        return self.s.user(login, self.base) if login else None

    def api(self, repo, suffix=""):
        return "%s/repos/%s%s" % (self.base, repo["full_name"], suffix)

    def web(self, repo, suffix=""):
        return "%s/%s%s" % (WEB, repo["full_name"], suffix)

    def repo(self, repo, minimal=False):
        owner, name = repo["full_name"].split("/", 1)
        open_count = sum(1 for i in repo["issues"] if i["state"] == "open")
        obj = {
            "id": repo["id"],
            "node_id": node_id("R", repo["id"]),
            "name": name,
            "full_name": repo["full_name"],
            "private": repo.get("private", False),
            "owner": self.user(owner),
            "html_url": self.web(repo),
            "description": repo.get("description"),
            "fork": repo.get("fork", False),
            "url": self.api(repo),
            "pulls_url": self.api(repo, "/pulls{/number}"),
            "issues_url": self.api(repo, "/issues{/number}"),
            "labels_url": self.api(repo, "/labels{/name}"),
            "releases_url": self.api(repo, "/releases{/id}"),
            "commits_url": self.api(repo, "/commits{/sha}"),
            "compare_url": self.api(repo, "/compare/{base}...{head}"),
            "collaborators_url": self.api(repo, "/collaborators{/collaborator}"),
            "tags_url": self.api(repo, "/tags"),
            "created_at": repo.get("created_at"),
            "updated_at": repo.get("updated_at", repo.get("pushed_at")),
            "pushed_at": repo.get("pushed_at"),
            "git_url": "git://github.com/%s.git" % repo["full_name"],
            "ssh_url": "git@github.com:%s.git" % repo["full_name"],
            "clone_url": "%s.git" % self.web(repo),
            "homepage": None,
            "size": 4096 if repo["commits"] else 0,
            "stargazers_count": repo.get("stargazers_count", 0),
            "watchers_count": repo.get("stargazers_count", 0),
            "language": repo.get("language"),
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": False,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": repo.get("forks_count", 0),
            "archived": repo.get("archived", False),
            "disabled": False,
            "open_issues_count": open_count,
            "license": repo.get("license"),
            "allow_forking": True,
            "is_template": False,
            "topics": repo.get("topics", []),
            "visibility": "private" if repo.get("private") else "public",
            "forks": repo.get("forks_count", 0),
            "open_issues": open_count,
            "watchers": repo.get("stargazers_count", 0),
            "default_branch": repo.get("default_branch", "main"),
        }
        if minimal:
            return obj
        role = self.role_of(repo, self.s.viewer) or "read"
        obj["permissions"] = dict(ROLE_PERMISSIONS[role])
        obj["network_count"] = repo.get("forks_count", 0)
        obj["subscribers_count"] = 3
        return obj

    def fork_repo(self, full_name, parent):
        owner, name = full_name.split("/", 1)
        fid = 900000000 + sum(ord(c) * (i + 1) for i, c in enumerate(full_name))
        return {
            "id": fid, "node_id": node_id("R", fid), "name": name, "full_name": full_name,
            "private": False, "owner": self.user(owner), "html_url": "%s/%s" % (WEB, full_name),
            "description": parent.get("description"), "fork": True,
            "url": "%s/repos/%s" % (self.base, full_name),
            "default_branch": parent.get("default_branch", "main"), "visibility": "public",
        }

    def role_of(self, repo, login):
        for c in repo["collaborators"]:
            if c["login"].lower() == (login or "").lower():
                return c.get("role", "write")
        return None

    def label(self, repo, lab):
        return {
            "id": lab["id"],
            "node_id": node_id("LA", lab["id"]),
            "url": self.api(repo, "/labels/" + lab["name"].replace(" ", "%20")),
            "name": lab["name"],
            "color": lab.get("color", "ededed"),
            "default": lab.get("default", False),
            "description": lab.get("description"),
        }

    def find_label(self, repo, name):
        for lab in repo["labels"]:
            if lab["name"].lower() == name.lower():
                return lab
        return None

    def labels_of(self, repo, item):
        out = []
        for name in item["labels"]:
            lab = self.find_label(repo, name)
            if lab is not None:
                out.append(self.label(repo, lab))
        return out

    def issue_id(self, repo, item):
        return 2500000000 + (repo["id"] % 1000) * 100000 + item["number"]

    def pull_id(self, repo, item):
        return 2100000000 + (repo["id"] % 1000) * 100000 + item["number"]

    def issue(self, repo, item):
        n = item["number"]
        is_pr = "pull_request" in item
        kind = "pull" if is_pr else "issues"
        obj = {
            "url": self.api(repo, "/issues/%d" % n),
            "repository_url": self.api(repo),
            "labels_url": self.api(repo, "/issues/%d/labels{/name}" % n),
            "comments_url": self.api(repo, "/issues/%d/comments" % n),
            "events_url": self.api(repo, "/issues/%d/events" % n),
            "html_url": self.web(repo, "/%s/%d" % (kind, n)),
            "id": self.issue_id(repo, item),
            "node_id": node_id("PR" if is_pr else "I", self.issue_id(repo, item)),
            "number": n,
            "title": item["title"],
            "user": self.user(item["user"]),
            "labels": self.labels_of(repo, item),
            "state": item["state"],
            "locked": False,
            "assignee": self.user(item["assignees"][0]) if item["assignees"] else None,
            "assignees": [self.user(a) for a in item["assignees"]],
            "milestone": None,
            "comments": len(item["comments"]),
            "created_at": item["created_at"],
            "updated_at": item["updated_at"],
            "closed_at": item.get("closed_at"),
            "author_association": item.get("author_association", "NONE"),
            "type": None,
            "active_lock_reason": None,
        }
        if is_pr:
            p = item["pull_request"]
            obj["draft"] = p.get("draft", False)
            obj["pull_request"] = {
                "url": self.api(repo, "/pulls/%d" % n),
                "html_url": self.web(repo, "/pull/%d" % n),
                "diff_url": self.web(repo, "/pull/%d.diff" % n),
                "patch_url": self.web(repo, "/pull/%d.patch" % n),
                "merged_at": p.get("merged_at"),
            }
        obj["body"] = item.get("body")
        obj["closed_by"] = self.user(item.get("closed_by")) if item.get("closed_by") else None
        obj["reactions"] = {
            "url": self.api(repo, "/issues/%d/reactions" % n), "total_count": 0, "+1": 0,
            "-1": 0, "laugh": 0, "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0,
        }
        obj["timeline_url"] = self.api(repo, "/issues/%d/timeline" % n)
        obj["performed_via_github_app"] = None
        obj["state_reason"] = item.get("state_reason")
        return obj

    def branch_end(self, repo, label_owner, ref, sha, fork=None):
        owner = label_owner
        return {
            "label": "%s:%s" % (owner, ref),
            "ref": ref,
            "sha": sha,
            "user": self.user(owner),
            "repo": self.fork_repo(fork, repo) if fork else self.repo(repo, minimal=True),
        }

    def pull(self, repo, item, full=False):
        n = item["number"]
        p = item["pull_request"]
        owner = repo["full_name"].split("/", 1)[0]
        fork = p["head"].get("repo")
        head_owner = fork.split("/", 1)[0] if fork else owner
        base_ref = p.get("base", repo.get("default_branch", "main"))
        base_sha = p.get("base_sha") or repo["branches"].get(base_ref, "0" * 40)
        merged_at = p.get("merged_at")
        obj = {
            "url": self.api(repo, "/pulls/%d" % n),
            "id": self.pull_id(repo, item),
            "node_id": node_id("PR", self.pull_id(repo, item)),
            "html_url": self.web(repo, "/pull/%d" % n),
            "diff_url": self.web(repo, "/pull/%d.diff" % n),
            "patch_url": self.web(repo, "/pull/%d.patch" % n),
            "issue_url": self.api(repo, "/issues/%d" % n),
            "number": n,
            "state": item["state"],
            "locked": False,
            "title": item["title"],
            "user": self.user(item["user"]),
            "body": item.get("body"),
            "created_at": item["created_at"],
            "updated_at": item["updated_at"],
            "closed_at": item.get("closed_at"),
            "merged_at": merged_at,
            "merge_commit_sha": p["head"]["sha"][::-1] if merged_at else None,
            "assignee": self.user(item["assignees"][0]) if item["assignees"] else None,
            "assignees": [self.user(a) for a in item["assignees"]],
            "requested_reviewers": [self.user(r) for r in p.get("requested_reviewers", [])],
            "requested_teams": [],
            "labels": self.labels_of(repo, item),
            "milestone": None,
            "draft": p.get("draft", False),
            "commits_url": self.api(repo, "/pulls/%d/commits" % n),
            "review_comments_url": self.api(repo, "/pulls/%d/comments" % n),
            "review_comment_url": self.api(repo, "/pulls/comments{/number}"),
            "comments_url": self.api(repo, "/issues/%d/comments" % n),
            "statuses_url": self.api(repo, "/statuses/%s" % p["head"]["sha"]),
            "head": self.branch_end(repo, head_owner, p["head"]["ref"], p["head"]["sha"], fork),
            "base": self.branch_end(repo, owner, base_ref, base_sha),
            "author_association": item.get("author_association", "NONE"),
            "auto_merge": None,
            "active_lock_reason": None,
        }
        if full:
            files = p.get("files", [])
            obj.update({
                "merged": merged_at is not None,
                "mergeable": None if item["state"] == "closed" else True,
                "rebaseable": None if item["state"] == "closed" else True,
                "mergeable_state": "draft" if p.get("draft") else (
                    "unknown" if item["state"] == "closed" else "clean"),
                "merged_by": self.user(item.get("merged_by", repo["collaborators"][0]["login"]))
                             if merged_at and repo["collaborators"] else None,
                "comments": len(item["comments"]),
                "review_comments": 0,
                "maintainer_can_modify": bool(fork),
                "commits": p.get("commits", 1),
                "additions": sum(f.get("additions", 0) for f in files),
                "deletions": sum(f.get("deletions", 0) for f in files),
                "changed_files": len(files),
            })
        return obj

    def pull_file(self, repo, item, f):
        sha = item["pull_request"]["head"]["sha"]
        adds, dels = f.get("additions", 0), f.get("deletions", 0)
        blob = hashlib.sha1(("%s#%d:%s" % (repo["full_name"], item["number"], f["filename"]))
                            .encode()).hexdigest()
        patch_lines = ["@@ -1,%d +1,%d @@" % (dels, adds)]
        patch_lines += ["-old line %d" % (i + 1) for i in range(min(dels, 3))]
        patch_lines += ["+new line %d" % (i + 1) for i in range(min(adds, 3))]
        obj = {
            "sha": blob,
            "filename": f["filename"],
            "status": f.get("status", "modified"),
            "additions": adds,
            "deletions": dels,
            "changes": adds + dels,
            "blob_url": self.web(repo, "/blob/%s/%s" % (sha, f["filename"])),
            "raw_url": self.web(repo, "/raw/%s/%s" % (sha, f["filename"])),
            "contents_url": self.api(repo, "/contents/%s?ref=%s" % (f["filename"], sha)),
            "patch": "\n".join(patch_lines),
        }
        if f.get("previous_filename"):
            obj["previous_filename"] = f["previous_filename"]
        return obj

    def comment(self, repo, item, c):
        kind = "pull" if "pull_request" in item else "issues"
        return {
            "url": self.api(repo, "/issues/comments/%d" % c["id"]),
            "html_url": self.web(repo, "/%s/%d#issuecomment-%d" % (kind, item["number"], c["id"])),
            "issue_url": self.api(repo, "/issues/%d" % item["number"]),
            "id": c["id"],
            "node_id": node_id("IC", c["id"]),
            "user": self.user(c["user"]),
            "created_at": c["created_at"],
            "updated_at": c.get("updated_at", c["created_at"]),
            "author_association": c.get("author_association", "NONE"),
            "body": c["body"],
            "reactions": {"url": self.api(repo, "/issues/comments/%d/reactions" % c["id"]),
                          "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
                          "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
            "performed_via_github_app": None,
        }

    def git_person(self, login, date):
        info = self.s.users.get(login, {})
        name = info.get("name", login)
        if login.endswith("[bot]"):
            email = "%d+%s@users.noreply.github.com" % (info.get("id", 0), login)
        else:
            email = "%s@acme.example" % login
        return {"name": name, "email": email, "date": date}

    def commit(self, repo, c, parent=None, files=None):
        sha = c["sha"]
        obj = {
            "sha": sha,
            "node_id": node_id("C", int(sha[:12], 16)),
            "commit": {
                "author": self.git_person(c["author"], c["date"]),
                "committer": self.git_person(c.get("committer", c["author"]), c["date"])
                             if c.get("committer") else
                             {"name": "GitHub", "email": "noreply@github.com", "date": c["date"]},
                "message": c["message"],
                "tree": {"sha": sha[::-1], "url": self.api(repo, "/git/trees/%s" % sha[::-1])},
                "url": self.api(repo, "/git/commits/%s" % sha),
                "comment_count": 0,
                "verification": {"verified": False, "reason": "unsigned", "signature": None,
                                 "payload": None, "verified_at": None},
            },
            "url": self.api(repo, "/commits/%s" % sha),
            "html_url": self.web(repo, "/commit/%s" % sha),
            "comments_url": self.api(repo, "/commits/%s/comments" % sha),
            "author": self.user(c["author"]),
            "committer": self.user(c.get("committer", "web-flow")) if c.get("committer")
                         else {"login": "web-flow", "id": 19864447, "type": "User",
                               "url": "%s/users/web-flow" % self.base,
                               "html_url": "%s/web-flow" % WEB, "site_admin": False},
            "parents": [] if parent is None else [{
                "sha": parent, "url": self.api(repo, "/commits/%s" % parent),
                "html_url": self.web(repo, "/commit/%s" % parent)}],
        }
        if files is not None:
            obj["files"] = files
            adds = sum(f["additions"] for f in files)
            dels = sum(f["deletions"] for f in files)
            obj["stats"] = {"total": adds + dels, "additions": adds, "deletions": dels}
        return obj

    def release(self, repo, rel):
        rid = rel["id"]
        tag = rel["tag_name"]
        if rel.get("draft"):
            html = self.web(repo, "/releases/tag/untagged-%08x" % (rid * 2654435761 % (1 << 32)))
        else:
            html = self.web(repo, "/releases/tag/%s" % tag)
        return {
            "url": self.api(repo, "/releases/%d" % rid),
            "assets_url": self.api(repo, "/releases/%d/assets" % rid),
            "upload_url": "https://uploads.github.com/repos/%s/releases/%d/assets{?name,label}"
                          % (repo["full_name"], rid),
            "html_url": html,
            "id": rid,
            "author": self.user(rel.get("author", self.s.viewer)),
            "node_id": node_id("RE", rid),
            "tag_name": tag,
            "target_commitish": rel.get("target_commitish", repo.get("default_branch", "main")),
            "name": rel.get("name"),
            "draft": rel.get("draft", False),
            "immutable": False,
            "prerelease": rel.get("prerelease", False),
            "created_at": rel.get("created_at"),
            "updated_at": rel.get("updated_at", rel.get("created_at")),
            "published_at": None if rel.get("draft") else rel.get("published_at",
                                                                  rel.get("created_at")),
            "assets": [],
            "tarball_url": self.api(repo, "/tarball/%s" % tag),
            "zipball_url": self.api(repo, "/zipball/%s" % tag),
            "body": rel.get("body"),
        }

    def run(self, repo, run):
        rid = run["id"]
        created = run["created_at"]
        finished = run.get("updated_at") or (
            format_ts(parse_ts(created) + 300) if run.get("status") == "completed" else created)
        commit = None
        for c in repo["commits"]:
            if c["sha"] == run["head_sha"]:
                commit = c
        head_commit = {
            "id": run["head_sha"],
            "tree_id": run["head_sha"][::-1],
            "message": commit["message"] if commit else run.get("display_title", run["name"]),
            "timestamp": commit["date"] if commit else created,
            "author": ({"name": self.git_person(commit["author"], "")["name"],
                        "email": self.git_person(commit["author"], "")["email"]}
                       if commit else {"name": run.get("actor"), "email": None}),
            "committer": {"name": "GitHub", "email": "noreply@github.com"},
        }
        return {
            "id": rid,
            "name": run["name"],
            "node_id": node_id("WFR", rid),
            "head_branch": run["head_branch"],
            "head_sha": run["head_sha"],
            "path": run.get("path", ".github/workflows/ci.yml"),
            "display_title": run.get("display_title", run["name"]),
            "run_number": run["run_number"],
            "event": run["event"],
            "status": run["status"],
            "conclusion": run.get("conclusion"),
            "workflow_id": run.get("workflow_id", 1),
            "check_suite_id": rid * 2 + 1,
            "check_suite_node_id": node_id("CS", rid * 2 + 1),
            "url": self.api(repo, "/actions/runs/%d" % rid),
            "html_url": self.web(repo, "/actions/runs/%d" % rid),
            "pull_requests": [],
            "created_at": created,
            "updated_at": finished,
            "actor": self.user(run.get("actor")),
            "run_attempt": run.get("run_attempt", 1),
            "referenced_workflows": [],
            "run_started_at": created,
            "triggering_actor": self.user(run.get("actor")),
            "jobs_url": self.api(repo, "/actions/runs/%d/jobs" % rid),
            "logs_url": self.api(repo, "/actions/runs/%d/logs" % rid),
            "check_suite_url": self.api(repo, "/check-suites/%d" % (rid * 2 + 1)),
            "artifacts_url": self.api(repo, "/actions/runs/%d/artifacts" % rid),
            "cancel_url": self.api(repo, "/actions/runs/%d/cancel" % rid),
            "rerun_url": self.api(repo, "/actions/runs/%d/rerun" % rid),
            "previous_attempt_url": None,
            "workflow_url": self.api(repo, "/actions/workflows/%d" % run.get("workflow_id", 1)),
            "head_commit": head_commit,
            "repository": self.repo(repo, minimal=True),
            "head_repository": self.repo(repo, minimal=True),
        }

    def job(self, repo, run, job):
        jid = job["id"]
        start = parse_ts(run["created_at"]) + 5
        steps = []
        t = start
        for st in job.get("steps", []):
            began = format_ts(t) if st.get("status") != "queued" else None
            if st.get("status") == "completed":
                t += 7
            steps.append({
                "name": st["name"],
                "status": st["status"],
                "conclusion": st.get("conclusion"),
                "number": st["number"],
                "started_at": began,
                "completed_at": format_ts(t) if st.get("status") == "completed" else None,
            })
        done = job.get("status") == "completed"
        return {
            "id": jid,
            "run_id": run["id"],
            "workflow_name": run["name"],
            "head_branch": run["head_branch"],
            "run_url": self.api(repo, "/actions/runs/%d" % run["id"]),
            "run_attempt": run.get("run_attempt", 1),
            "node_id": node_id("CR", jid),
            "head_sha": run["head_sha"],
            "url": self.api(repo, "/actions/jobs/%d" % jid),
            "html_url": self.web(repo, "/actions/runs/%d/job/%d" % (run["id"], jid)),
            "status": job["status"],
            "conclusion": job.get("conclusion"),
            "created_at": run["created_at"],
            "started_at": format_ts(start),
            "completed_at": format_ts(t) if done else None,
            "name": job["name"],
            "steps": steps,
            "check_run_url": self.api(repo, "/check-runs/%d" % jid),
            "labels": ["ubuntu-latest"],
            "runner_id": 1000 + jid % 97 if job["status"] != "queued" else None,
            "runner_name": "GitHub Actions %d" % (jid % 97) if job["status"] != "queued" else None,
            "runner_group_id": 2 if job["status"] != "queued" else None,
            "runner_group_name": "GitHub Actions" if job["status"] != "queued" else None,
        }

    def collaborator(self, repo, c):
        obj = self.user(c["login"])
        role = c.get("role", "write")
        obj["permissions"] = dict(ROLE_PERMISSIONS.get(role, ROLE_PERMISSIONS["write"]))
        obj["role_name"] = role
        return obj


# ---- helpers ---------------------------------------------------------------------------
def query_value(query, name, default=None):
    for k, v in query:
        if k == name:
            return v
    return default


def enum_param(query, name, allowed, default, resource, doc):
    value = query_value(query, name, default)
    if value not in allowed:
        raise validation_failed(doc, [{"resource": resource, "field": name, "code": "invalid",
                                       "value": value}])
    return value


def json_object_body(body, raw, doc):
    if raw and isinstance(body, str):
        raise ApiError(400, "Problems parsing JSON", doc)
    if body is None:
        return {}
    return body


def find_item(repo, number, doc=DOCS):
    try:
        n = int(number)
    except ValueError:
        raise not_found(doc)
    for item in repo["issues"]:
        if item["number"] == n:
            return item
    raise not_found(doc)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeGitHub/1.0"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet
        pass

    def version_string(self):
        return "github.com"

    # ---- plumbing -------------------------------------------------------------------
    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        text = raw.decode("utf-8", errors="replace")
        if not text:
            return text, None
        try:
            return text, json.loads(text)
        except ValueError:
            return text, text

    def base_url(self):
        host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1]
        return "http://" + host

    def send_raw(self, status, data, headers, content_type=CONTENT_TYPE, length=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data) if length is None else length))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_control(self, status, obj):
        self.send_raw(status, json.dumps(obj).encode(), {})

    def new_request_id(self):
        with STATE.lock:
            STATE.request_counter += 1
            counter = STATE.request_counter
        self.request_id = "%04X:%05X:%06X:%06X:%08X" % (
            os.getpid() & 0xFFFF, counter, (counter * 7919) & 0xFFFFFF,
            (counter * 104729) & 0xFFFFFF, int(time.time()))

    def api_headers(self, remaining_override=None, reset_override=None):
        with STATE.lock:
            limit, used, reset = STATE.rl_limit, STATE.rl_used, STATE.rl_reset
        remaining = max(0, limit - used) if remaining_override is None else remaining_override
        if remaining_override is not None:
            used = limit - remaining_override
        return {
            "x-github-api-version-selected": "2022-11-28",
            "x-github-media-type": "github.v3; format=json",
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(reset if reset_override is None else reset_override),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": "core",
            "x-github-request-id": self.request_id,
            "Cache-Control": "private, max-age=60, s-maxage=60",
            "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
        }

    def send_api(self, status, obj, extra=None, headers=None, damage=None):
        hdrs = headers if headers is not None else self.api_headers()
        hdrs.update(extra or {})
        data = json.dumps(obj, ensure_ascii=False,
                                                  separators=(",", ":")).encode("utf-8") if obj is not None else b""
        if damage == "malformed":
            cut = data[:max(1, len(data) // 2)]
            if cut == data:
                cut = b'{"message": "tru'
            self.send_raw(200, cut, hdrs)
        elif damage == "cut":
            self.send_raw(status, data[:len(data) // 2], hdrs, length=len(data) + 500)
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_raw(status, data, hdrs)

    def send_error_obj(self, err, damage=None):
        hdrs = self.api_headers()
        hdrs.update(err.headers)
        self.send_api(err.status, err.body(), headers=hdrs, damage=damage)

    def record(self, body):
        with STATE.lock:
            STATE.requests.append({
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
                "peer_port": self.client_address[1],
            })

    # ---- auth, rate limit, faults ---------------------------------------------------
    def check_auth(self):
        token = os.environ.get("FAKE_GITHUB_TOKEN")
        if not token:
            return
        got = self.headers.get("Authorization", "")
        if got in ("Bearer " + token, "bearer " + token, "token " + token, "Token " + token):
            return
        raise ApiError(401, "Bad credentials", DOCS)

    def primary_limit_error(self, reset):
        if self.headers.get("Authorization"):
            msg = ("API rate limit exceeded for user ID %d. If you reach out to GitHub Support "
                   "for help, please include the request ID %s."
                   % (STATE.users.get(STATE.viewer, {}).get("id", 1), self.request_id))
        else:
            msg = ("API rate limit exceeded for 127.0.0.1. (But here's the good news: "
                   "Authenticated requests get a higher rate limit. Check out the documentation "
                   "for more details.) If you reach out to GitHub Support for help, please "
                   "include the request ID %s." % self.request_id)
        err = ApiError(403, msg, DOCS + "/overview/rate-limits-for-the-rest-api")
        err.remaining_override = 0
        err.reset_override = reset
        return err

    def count_rate_limit(self):
        with STATE.lock:
            now = time.time()
            if now >= STATE.rl_reset:
                STATE.rl_used = 0
                STATE.rl_reset = int(now) + 3600
            if STATE.rl_used >= STATE.rl_limit:
                return self.primary_limit_error(STATE.rl_reset)
            STATE.rl_used += 1
        return None

    def fault_error(self, fault):
        mode = fault["mode"]
        retry_after = fault["retry_after"]
        secondary = ("You have exceeded a secondary rate limit. Please wait a few minutes "
                     "before you try again. If you reach out to GitHub Support for help, "
                     "please include the request ID %s." % self.request_id)
        doc_secondary = DOCS + "/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if mode == "ratelimit":
            wait = 1 if retry_after is None else retry_after
            return self.primary_limit_error(math.ceil(time.time() + float(wait)))
        if mode == "429":
            return ApiError(429, secondary, doc_secondary, headers=headers)
        if mode == "403":
            if retry_after is not None:
                return ApiError(403, secondary, doc_secondary, headers=headers)
            return ApiError(403, "Resource not accessible by integration", DOCS)
        if mode == "404":
            return not_found()
        if mode == "422":
            return validation_failed(DOCS, [{"resource": "Issue", "code": "custom",
                                             "field": "body",
                                             "message": "injected validation failure"}])
        if mode == "500":
            return ApiError(500, "Server Error", DOCS)
        return None

    # ---- dispatch -------------------------------------------------------------------
    def handle_api(self):
        text, body = self.read_body()
        self.record(body)
        self.new_request_id()
        damage = None
        try:
            self.check_auth()
            free = urlsplit(self.path).path.rstrip("/") == "/rate_limit"
            limited = None if free else self.count_rate_limit()
            if limited is not None:
                raise limited
            fault = STATE.take_fault(self.command, self.path)
            if fault is not None:
                mode = fault["mode"]
                if mode == "slow":
                    time.sleep(fault["delay_ms"] / 1000.0)
                elif mode in ("malformed", "cut"):
                    damage = mode
                elif mode == "502":
                    self.send_raw(502, UNICORN_HTML, self.api_headers(),
                                  content_type="text/html; charset=utf-8")
                    return
                else:
                    err = self.fault_error(fault)
                    if err is not None:
                        raise err
            status, obj, extra = self.route(text, body)
            self.send_api(status, obj, extra, damage=damage)
        except ApiError as err:
            if getattr(err, "remaining_override", None) is not None:
                hdrs = self.api_headers(remaining_override=0, reset_override=err.reset_override)
                hdrs.update(err.headers)
                self.send_api(err.status, err.body(), headers=hdrs, damage=damage)
            else:
                self.send_error_obj(err, damage=damage)

    def route(self, text, body):
        split = urlsplit(self.path)
        path = split.path.rstrip("/") or "/"
        query = parse_qsl(split.query, keep_blank_values=True)
        method = self.command
        with STATE.lock:
            r = Renderer(STATE, self.base_url())
            if path == "/user" and method == "GET":
                obj = r.user(STATE.viewer)
                obj["name"] = STATE.users.get(STATE.viewer, {}).get("name")
                return 200, obj, None
            if path == "/rate_limit" and method == "GET":
                return 200, self.rate_limit_body(), None
            m = re.match(r"^/repos/([^/]+)/([^/]+)(/.*)?$", path)
            if not m:
                raise not_found()
            repo = STATE.repos.get(("%s/%s" % (unquote(m.group(1)), unquote(m.group(2)))).lower())
            if repo is None:
                raise not_found(DOC_REPO)
            rest = m.group(3) or ""
            for verb, pattern, fn in ROUTES:
                mm = re.match(pattern, rest)
                if mm and verb == method:
                    return fn(self, r, repo, query, text, body, *[unquote(g) for g in mm.groups()])
            raise not_found()

    def rate_limit_body(self):
        now = time.time()
        core = {"limit": STATE.rl_limit, "used": STATE.rl_used,
                "remaining": max(0, STATE.rl_limit - STATE.rl_used), "reset": STATE.rl_reset}
        other = lambda lim: {"limit": lim, "used": 0, "remaining": lim, "reset": int(now) + 3600}
        return {"resources": {"core": core, "search": other(30), "graphql": other(5000),
                              "integration_manifest": other(5000),
                              "code_search": other(10)},
                "rate": core}

    # ---- pagination -----------------------------------------------------------------
    def paginate(self, items, query):
        def as_int(name, default):
            try:
                return int(query_value(query, name, default))
            except (TypeError, ValueError):
                return default
        per_page = as_int("per_page", 30)
        if per_page <= 0:
            per_page = 30
        per_page = min(per_page, 100)
        page = max(1, as_int("page", 1))
        total = len(items)
        last = max(1, math.ceil(total / per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        path = urlsplit(self.path).path

        def url(p):
            q = [(k, v) for k, v in query if k != "page"]
            replaced = False
            out = []
            for k, v in query:
                if k == "page":
                    if not replaced:
                        out.append(("page", str(p)))
                        replaced = True
                else:
                    out.append((k, v))
            if not replaced:
                out = q + [("page", str(p))]
            return "%s%s?%s" % (self.base_url(), path, urlencode(out))

        links = []
        if page > 1:
            links.append('<%s>; rel="prev"' % url(page - 1))
        if page < last:
            links.append('<%s>; rel="next"' % url(page + 1))
            links.append('<%s>; rel="last"' % url(last))
        if page > 1:
            links.append('<%s>; rel="first"' % url(1))
        extra = {"Link": ", ".join(links)} if links else {}
        return chunk, extra

    # ---- endpoints ------------------------------------------------------------------
    def ep_repo(self, r, repo, query, text, body):
        return 200, r.repo(repo), None

    def ep_pulls(self, r, repo, query, text, body):
        state = enum_param(query, "state", ("open", "closed", "all"), "open", "PullRequest", DOC_PULLS)
        sort = enum_param(query, "sort", ("created", "updated", "popularity", "long-running"),
                          "created", "PullRequest", DOC_PULLS)
        default_dir = "desc" if sort == "created" or query_value(query, "sort") is None else "asc"
        direction = enum_param(query, "direction", ("asc", "desc"), default_dir, "PullRequest",
                               DOC_PULLS)
        head = query_value(query, "head")
        base = query_value(query, "base")
        items = [i for i in repo["issues"] if "pull_request" in i]
        if state != "all":
            items = [i for i in items if i["state"] == state]
        if head:
            owner = repo["full_name"].split("/")[0]
            def head_label(i):
                fork = i["pull_request"]["head"].get("repo")
                return "%s:%s" % (fork.split("/")[0] if fork else owner,
                                  i["pull_request"]["head"]["ref"])
            items = [i for i in items if head_label(i) == head]
        if base:
            items = [i for i in items if i["pull_request"].get("base", "main") == base]
        items = self.sorted_items(items, sort, direction)
        chunk, extra = self.paginate(items, query)
        return 200, [r.pull(repo, i) for i in chunk], extra

    @staticmethod
    def sorted_items(items, sort, direction):
        if sort == "updated":
            key = lambda i: (i["updated_at"], i["number"])
        elif sort in ("comments", "popularity"):
            key = lambda i: (len(i["comments"]), i["number"])
        elif sort == "long-running":
            key = lambda i: (-parse_ts(i["created_at"]), i["number"])
        else:
            key = lambda i: (i["created_at"], i["number"])
        return sorted(items, key=key, reverse=(direction == "desc"))

    def pull_item(self, repo, number, doc):
        item = find_item(repo, number, doc)
        if "pull_request" not in item:
            raise not_found(doc)
        return item

    def ep_pull(self, r, repo, query, text, body, number):
        item = self.pull_item(repo, number, DOC_PULL)
        return 200, r.pull(repo, item, full=True), None

    def ep_pull_files(self, r, repo, query, text, body, number):
        item = self.pull_item(repo, number, DOC_PULL_FILES)
        files = item["pull_request"].get("files", [])
        chunk, extra = self.paginate(files, query)
        return 200, [r.pull_file(repo, item, f) for f in chunk], extra

    def ep_request_reviewers(self, r, repo, query, text, body, number):
        item = self.pull_item(repo, number, DOC_REVIEWERS)
        body = json_object_body(body, text, DOC_REVIEWERS)
        if not isinstance(body, dict):
            raise ApiError(422, "Invalid request.\n\nInvalid input: object is expected.",
                           DOC_REVIEWERS)
        reviewers = body.get("reviewers")
        teams = body.get("team_reviewers")
        if reviewers is None and teams is None:
            raise ApiError(422, 'Invalid request.\n\nNo subschema in "anyOf" matched.\n'
                           '"reviewers" wasn\'t supplied.\n"team_reviewers" wasn\'t supplied.',
                           DOC_REVIEWERS)
        reviewers = reviewers or []
        if not isinstance(reviewers, list) or not all(isinstance(x, str) for x in reviewers):
            raise ApiError(422, 'Invalid request.\n\nFor \'properties/reviewers\', %s is not an '
                           'array of strings.' % json.dumps(body.get("reviewers")), DOC_REVIEWERS)
        for login in reviewers:
            if login.lower() == item["user"].lower():
                raise ApiError(422, "Review cannot be requested from pull request author.",
                               DOC_REVIEWERS)
        for login in reviewers:
            if r.role_of(repo, login) is None:
                raise ApiError(422, "Reviews may only be requested from collaborators. One or "
                               "more of the users or teams you specified is not a collaborator "
                               "of the %s repository." % repo["full_name"], DOC_REVIEWERS)
        current = item["pull_request"].setdefault("requested_reviewers", [])
        for login in reviewers:
            canonical = next(c["login"] for c in repo["collaborators"]
                             if c["login"].lower() == login.lower())
            if canonical not in current:
                current.append(canonical)
        item["updated_at"] = STATE.now_ts()
        return 201, r.pull(repo, item), None

    def ep_issues(self, r, repo, query, text, body):
        state = enum_param(query, "state", ("open", "closed", "all"), "open", "Issue", DOC_ISSUES)
        sort = enum_param(query, "sort", ("created", "updated", "comments"), "created", "Issue",
                          DOC_ISSUES)
        direction = enum_param(query, "direction", ("asc", "desc"), "desc", "Issue", DOC_ISSUES)
        items = list(repo["issues"])
        if state != "all":
            items = [i for i in items if i["state"] == state]
        labels = query_value(query, "labels")
        if labels:
            wanted = [x.strip().lower() for x in labels.split(",") if x.strip()]
            items = [i for i in items
                     if all(w in [l.lower() for l in i["labels"]] for w in wanted)]
        since = query_value(query, "since")
        if since:
            try:
                t = parse_ts(since)
            except ValueError:
                raise validation_failed(DOC_ISSUES, [{"resource": "Issue", "field": "since",
                                                      "code": "invalid"}])
            items = [i for i in items if parse_ts(i["updated_at"]) >= t]
        creator = query_value(query, "creator")
        if creator:
            items = [i for i in items if i["user"].lower() == creator.lower()]
        assignee = query_value(query, "assignee")
        if assignee == "none":
            items = [i for i in items if not i["assignees"]]
        elif assignee == "*":
            items = [i for i in items if i["assignees"]]
        elif assignee:
            items = [i for i in items if assignee.lower() in [a.lower() for a in i["assignees"]]]
        items = self.sorted_items(items, sort, direction)
        chunk, extra = self.paginate(items, query)
        return 200, [r.issue(repo, i) for i in chunk], extra

    def ep_issue(self, r, repo, query, text, body, number):
        return 200, r.issue(repo, find_item(repo, number, DOC_ISSUE)), None

    def ep_issue_update(self, r, repo, query, text, body, number):
        item = find_item(repo, number, DOC_ISSUE_UPDATE)
        body = json_object_body(body, text, DOC_ISSUE_UPDATE)
        if not isinstance(body, dict):
            raise ApiError(422, "Invalid request.\n\nInvalid input: object is expected.",
                           DOC_ISSUE_UPDATE)
        errors = []
        if "state" in body and body["state"] not in ("open", "closed"):
            errors.append({"resource": "Issue", "field": "state", "code": "invalid",
                           "value": body["state"]})
        if "state_reason" in body and body["state_reason"] not in (
                "completed", "not_planned", "reopened", "duplicate", None):
            errors.append({"resource": "Issue", "field": "state_reason", "code": "invalid",
                           "value": body["state_reason"]})
        if "title" in body and (not isinstance(body["title"], (str, int)) or body["title"] == ""):
            errors.append({"resource": "Issue", "field": "title", "code": "missing_field"})
        if "body" in body and not isinstance(body["body"], (str, type(None))):
            errors.append({"resource": "Issue", "field": "body", "code": "invalid"})
        if "labels" in body and not isinstance(body["labels"], list):
            errors.append({"resource": "Issue", "field": "labels", "code": "invalid"})
        if "assignees" in body:
            if not isinstance(body["assignees"], list):
                errors.append({"resource": "Issue", "field": "assignees", "code": "invalid"})
            else:
                for a in body["assignees"]:
                    if not isinstance(a, str) or r.role_of(repo, a) is None:
                        errors.append({"resource": "Issue", "field": "assignees",
                                       "code": "invalid", "value": a})
        if errors:
            raise validation_failed(DOC_ISSUE_UPDATE, errors)
        now = STATE.now_ts()
        if "title" in body:
            item["title"] = str(body["title"])
        if "body" in body:
            item["body"] = body["body"]
        if "labels" in body:
            item["labels"] = []
            self.add_labels(r, repo, item, body["labels"])
        if "assignees" in body:
            item["assignees"] = list(body["assignees"])
        new_state = body.get("state", item["state"])
        reason = body.get("state_reason", "__unset__")
        if new_state == "closed" and item["state"] != "closed":
            item["state"] = "closed"
            item["closed_at"] = now
            item["closed_by"] = STATE.viewer
            item["state_reason"] = "completed" if reason in ("__unset__", None) else reason
        elif new_state == "open" and item["state"] != "open":
            item["state"] = "open"
            item["closed_at"] = None
            item["closed_by"] = None
            item["state_reason"] = "reopened"
        elif reason != "__unset__":
            item["state_reason"] = reason
        item["updated_at"] = now
        return 200, r.issue(repo, item), None

    def add_labels(self, r, repo, item, names):
        for entry in names:
            name = entry.get("name") if isinstance(entry, dict) else entry
            if not isinstance(name, str) or not name.strip():
                raise validation_failed(DOC_LABELS_ADD, [{"resource": "Label", "field": "name",
                                                          "code": "invalid"}])
            lab = r.find_label(repo, name)
            if lab is None:
                lab = {"id": STATE.next_label_id, "name": name, "color": "ededed",
                       "default": False, "description": None}
                STATE.next_label_id += 1
                repo["labels"].append(lab)
            if lab["name"] not in item["labels"]:
                item["labels"].append(lab["name"])

    def ep_issue_labels_add(self, r, repo, query, text, body, number):
        item = find_item(repo, number, DOC_LABELS_ADD)
        body = json_object_body(body, text, DOC_LABELS_ADD)
        names = body.get("labels") if isinstance(body, dict) else body
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list):
            raise ApiError(422, 'Invalid request.\n\n"labels" wasn\'t supplied.', DOC_LABELS_ADD)
        self.add_labels(r, repo, item, names)
        item["updated_at"] = STATE.now_ts()
        return 200, r.labels_of(repo, item), None

    def ep_issue_labels(self, r, repo, query, text, body, number):
        item = find_item(repo, number, DOCS + "/issues/labels#list-labels-for-an-issue")
        chunk, extra = self.paginate(r.labels_of(repo, item), query)
        return 200, chunk, extra

    def ep_labels(self, r, repo, query, text, body):
        chunk, extra = self.paginate([r.label(repo, l) for l in repo["labels"]], query)
        return 200, chunk, extra

    def ep_comments(self, r, repo, query, text, body, number):
        item = find_item(repo, number, DOC_COMMENTS)
        comments = item["comments"]
        since = query_value(query, "since")
        if since:
            try:
                t = parse_ts(since)
            except ValueError:
                t = 0
            comments = [c for c in comments if parse_ts(c.get("updated_at", c["created_at"])) >= t]
        chunk, extra = self.paginate(comments, query)
        return 200, [r.comment(repo, item, c) for c in chunk], extra

    def ep_comment_create(self, r, repo, query, text, body, number):
        item = find_item(repo, number, DOC_COMMENT_CREATE)
        body = json_object_body(body, text, DOC_COMMENT_CREATE)
        if not isinstance(body, dict) or "body" not in body:
            raise validation_failed(DOC_COMMENT_CREATE, [{"resource": "IssueComment",
                                                          "code": "missing_field",
                                                          "field": "body"}])
        if not isinstance(body["body"], str) or not body["body"].strip():
            raise validation_failed(DOC_COMMENT_CREATE, [{"resource": "IssueComment",
                                                          "code": "custom", "field": "body",
                                                          "message": "body cannot be blank"}])
        if len(body["body"]) > 65536:
            raise validation_failed(DOC_COMMENT_CREATE, [{
                "resource": "IssueComment", "code": "custom", "field": "data",
                "message": "Body is too long (maximum is 65536 characters)"}])
        now = STATE.now_ts()
        role = r.role_of(repo, STATE.viewer)
        c = {"id": STATE.next_comment_id, "user": STATE.viewer,
             "author_association": "COLLABORATOR" if role else "NONE",
             "created_at": now, "updated_at": now, "body": body["body"]}
        STATE.next_comment_id += 1
        item["comments"].append(c)
        item["updated_at"] = now
        return 201, r.comment(repo, item, c), {"Location": r.api(repo, "/issues/comments/%d" % c["id"])}

    # commits and refs
    def resolve_ref(self, repo, ref):
        """Index in the commit history of a tag, branch or (short) SHA, or None."""
        commits = repo["commits"]
        sha = repo["tags"].get(ref) or repo["branches"].get(ref)
        if ref == "HEAD" and commits:
            sha = repo["branches"].get(repo.get("default_branch", "main"))
        if sha is None and re.fullmatch(r"[0-9a-f]{7,40}", ref or ""):
            matches = [c["sha"] for c in commits if c["sha"].startswith(ref)]
            sha = matches[0] if len(matches) == 1 else None
        if sha is None:
            return None
        for idx, c in enumerate(commits):
            if c["sha"] == sha:
                return idx
        return None

    def commit_files(self, repo, idx):
        c = repo["commits"][idx]
        out = []
        for k, path in enumerate(c.get("files", [])):
            earlier = any(path in p.get("files", []) for p in repo["commits"][:idx])
            adds = 3 + (len(path) * 7 + k * 5 + idx) % 40
            dels = 0 if not earlier else (len(path) + idx) % 12
            out.append({"sha": c["sha"][k:] + c["sha"][:k], "filename": path,
                        "status": "modified" if earlier else "added",
                        "additions": adds, "deletions": dels, "changes": adds + dels,
                        "blob_url": "%s/%s/blob/%s/%s" % (WEB, repo["full_name"], c["sha"], path),
                        "raw_url": "%s/%s/raw/%s/%s" % (WEB, repo["full_name"], c["sha"], path),
                        "contents_url": "%s/repos/%s/contents/%s?ref=%s" % (
                            self.base_url(), repo["full_name"], path, c["sha"]),
                        "patch": "@@ -1,%d +1,%d @@" % (dels, adds)})
        return out

    def render_commit_at(self, r, repo, idx, with_files=False):
        parent = repo["commits"][idx - 1]["sha"] if idx > 0 else None
        files = self.commit_files(repo, idx) if with_files else None
        return r.commit(repo, repo["commits"][idx], parent, files)

    def ep_compare(self, r, repo, query, text, body, basehead):
        if "..." not in basehead:
            raise not_found(DOC_COMPARE)
        base_ref, head_ref = basehead.split("...", 1)
        if not repo["commits"]:
            raise ApiError(404, "Not Found", DOC_COMPARE)
        bi = self.resolve_ref(repo, base_ref)
        hi = self.resolve_ref(repo, head_ref)
        if bi is None or hi is None:
            raise not_found(DOC_COMPARE)
        if hi > bi:
            status, ahead, behind = "ahead", hi - bi, 0
            idxs = list(range(bi + 1, hi + 1))
        elif hi < bi:
            status, ahead, behind = "behind", 0, bi - hi
            idxs = []
        else:
            status, ahead, behind, idxs = "identical", 0, 0, []
        merge_base = min(bi, hi)
        commits_all = [self.render_commit_at(r, repo, i) for i in idxs]
        chunk, extra = self.paginate(commits_all, query)
        files = {}
        for i in idxs:
            for f in self.commit_files(repo, i):
                if f["filename"] in files:
                    prev = files[f["filename"]]
                    prev["additions"] += f["additions"]
                    prev["deletions"] += f["deletions"]
                    prev["changes"] += f["changes"]
                else:
                    files[f["filename"]] = dict(f)
        obj = {
            "url": r.api(repo, "/compare/%s...%s" % (base_ref, head_ref)),
            "html_url": r.web(repo, "/compare/%s...%s" % (base_ref, head_ref)),
            "permalink_url": r.web(repo, "/compare/%s...%s" % (
                repo["commits"][bi]["sha"][:7], repo["commits"][hi]["sha"][:7])),
            "diff_url": r.web(repo, "/compare/%s...%s.diff" % (base_ref, head_ref)),
            "patch_url": r.web(repo, "/compare/%s...%s.patch" % (base_ref, head_ref)),
            "base_commit": self.render_commit_at(r, repo, bi),
            "merge_base_commit": self.render_commit_at(r, repo, merge_base),
            "status": status,
            "ahead_by": ahead,
            "behind_by": behind,
            "total_commits": len(idxs),
            "commits": chunk,
            "files": list(files.values()),
        }
        return 200, obj, extra

    def ep_commits(self, r, repo, query, text, body):
        if not repo["commits"]:
            raise ApiError(409, "Git Repository is empty.", DOC_COMMITS)
        start = query_value(query, "sha") or repo.get("default_branch", "main")
        top = self.resolve_ref(repo, start)
        if top is None:
            raise not_found(DOC_COMMITS)
        idxs = list(range(top, -1, -1))  # newest first
        path = query_value(query, "path")
        if path:
            p = path.strip("/")
            idxs = [i for i in idxs
                    if any(f == p or f.startswith(p + "/") for f in repo["commits"][i].get("files", []))]
        author = query_value(query, "author")
        if author:
            idxs = [i for i in idxs if repo["commits"][i]["author"].lower() == author.lower()]
        for name, keep in (("since", lambda d, t: d >= t), ("until", lambda d, t: d <= t)):
            value = query_value(query, name)
            if value:
                try:
                    t = parse_ts(value)
                except ValueError:
                    raise validation_failed(DOC_COMMITS, [{"resource": "Commit", "field": name,
                                                           "code": "invalid"}])
                idxs = [i for i in idxs if keep(parse_ts(repo["commits"][i]["date"]), t)]
        chunk, extra = self.paginate(idxs, query)
        return 200, [self.render_commit_at(r, repo, i) for i in chunk], extra

    def ep_commit(self, r, repo, query, text, body, ref):
        if not repo["commits"]:
            raise ApiError(409, "Git Repository is empty.", DOCS + "/commits/commits#get-a-commit")
        idx = self.resolve_ref(repo, ref)
        if idx is None:
            raise ApiError(422, "No commit found for SHA: %s" % ref,
                           DOCS + "/commits/commits#get-a-commit")
        return 200, self.render_commit_at(r, repo, idx, with_files=True), None

    def ep_tags(self, r, repo, query, text, body):
        order = {c["sha"]: i for i, c in enumerate(repo["commits"])}
        tags = sorted(repo["tags"].items(), key=lambda kv: (order.get(kv[1], -1), kv[0]),
                      reverse=True)
        out = [{"name": name,
                "zipball_url": r.api(repo, "/zipball/refs/tags/%s" % name),
                "tarball_url": r.api(repo, "/tarball/refs/tags/%s" % name),
                "commit": {"sha": sha, "url": r.api(repo, "/commits/%s" % sha)},
                "node_id": node_id("REF", int(sha[:10], 16))} for name, sha in tags]
        chunk, extra = self.paginate(out, query)
        return 200, chunk, extra

    # releases
    def ep_releases(self, r, repo, query, text, body):
        rels = sorted(repo["releases"], key=lambda x: (x.get("created_at") or "", x["id"]),
                      reverse=True)
        chunk, extra = self.paginate(rels, query)
        return 200, [r.release(repo, x) for x in chunk], extra

    def ep_release_latest(self, r, repo, query, text, body):
        rels = [x for x in repo["releases"] if not x.get("draft") and not x.get("prerelease")]
        if not rels:
            raise not_found(DOCS + "/releases/releases#get-the-latest-release")
        rel = max(rels, key=lambda x: (x.get("published_at") or x.get("created_at") or "", x["id"]))
        return 200, r.release(repo, rel), None

    def ep_release_by_tag(self, r, repo, query, text, body, tag):
        for rel in repo["releases"]:
            if rel["tag_name"] == tag and not rel.get("draft"):
                return 200, r.release(repo, rel), None
        raise not_found(DOCS + "/releases/releases#get-a-release-by-tag-name")

    def ep_release_create(self, r, repo, query, text, body):
        body = json_object_body(body, text, DOC_RELEASE_CREATE)
        if not isinstance(body, dict):
            raise ApiError(422, "Invalid request.\n\nInvalid input: object is expected.",
                           DOC_RELEASE_CREATE)
        tag = body.get("tag_name")
        if not isinstance(tag, str) or not tag:
            raise validation_failed(DOC_RELEASE_CREATE, [{"resource": "Release",
                                                          "code": "missing_field",
                                                          "field": "tag_name"}])
        for key in ("draft", "prerelease"):
            if key in body and not isinstance(body[key], bool):
                raise ApiError(422, "Invalid request.\n\nFor 'properties/%s', %s is not a "
                               "boolean." % (key, json.dumps(body[key])), DOC_RELEASE_CREATE)
        if any(x["tag_name"] == tag for x in repo["releases"]):
            raise validation_failed(DOC_RELEASE_CREATE, [{"resource": "Release",
                                                          "code": "already_exists",
                                                          "field": "tag_name"}])
        target = body.get("target_commitish") or repo.get("default_branch", "main")
        draft = bool(body.get("draft", False))
        if tag not in repo["tags"] and not draft:
            idx = self.resolve_ref(repo, target)
            if idx is None:
                raise validation_failed(DOC_RELEASE_CREATE, [{"resource": "Release",
                                                              "code": "invalid",
                                                              "field": "target_commitish"}])
            repo["tags"][tag] = repo["commits"][idx]["sha"]
        now = STATE.now_ts()
        rel = {"id": STATE.next_release_id, "tag_name": tag, "target_commitish": target,
               "name": body.get("name") or None, "body": body.get("body"), "draft": draft,
               "prerelease": bool(body.get("prerelease", False)), "author": STATE.viewer,
               "created_at": now, "published_at": None if draft else now}
        STATE.next_release_id += 1
        repo["releases"].append(rel)
        return 201, r.release(repo, rel), {"Location": r.api(repo, "/releases/%d" % rel["id"])}

    # actions
    def ep_runs(self, r, repo, query, text, body):
        runs = list(repo["workflow_runs"])
        branch = query_value(query, "branch")
        if branch:
            runs = [x for x in runs if x["head_branch"] == branch]
        status = query_value(query, "status")
        if status:
            if status in RUN_CONCLUSIONS:
                runs = [x for x in runs if x.get("conclusion") == status]
            elif status in RUN_STATUSES:
                runs = [x for x in runs if x["status"] == status]
            else:
                runs = []
        for name, field in (("event", "event"), ("head_sha", "head_sha")):
            value = query_value(query, name)
            if value:
                runs = [x for x in runs if x.get(field) == value]
        actor = query_value(query, "actor")
        if actor:
            runs = [x for x in runs if (x.get("actor") or "").lower() == actor.lower()]
        runs.sort(key=lambda x: (x["created_at"], x["id"]), reverse=True)
        chunk, extra = self.paginate(runs, query)
        return 200, {"total_count": len(runs),
                     "workflow_runs": [r.run(repo, x) for x in chunk]}, extra

    def find_run(self, repo, run_id, doc):
        for run in repo["workflow_runs"]:
            if str(run["id"]) == run_id:
                return run
        raise not_found(doc)

    def ep_run(self, r, repo, query, text, body, run_id):
        run = self.find_run(repo, run_id, DOCS + "/actions/workflow-runs#get-a-workflow-run")
        return 200, r.run(repo, run), None

    def ep_jobs(self, r, repo, query, text, body, run_id):
        run = self.find_run(repo, run_id, DOC_JOBS)
        jobs = run.get("jobs", [])
        chunk, extra = self.paginate(jobs, query)
        return 200, {"total_count": len(jobs), "jobs": [r.job(repo, run, j) for j in chunk]}, extra

    def ep_collaborators(self, r, repo, query, text, body):
        collabs = list(repo["collaborators"])
        perm = query_value(query, "permission")
        if perm:
            if perm not in ("pull", "triage", "push", "maintain", "admin"):
                raise validation_failed(DOC_COLLABORATORS, [{"resource": "Repository",
                                                             "field": "permission",
                                                             "code": "invalid"}])
            collabs = [c for c in collabs
                       if ROLE_PERMISSIONS.get(c.get("role", "write"), {}).get(perm)]
        chunk, extra = self.paginate(collabs, query)
        return 200, [r.collaborator(repo, c) for c in chunk], extra

    # ---- control endpoints ----------------------------------------------------------
    def handle_control(self, method, path):
        text, body = self.read_body()
        if method == "GET" and path == "/_health":
            self.send_control(200, {"status": "ok"})
        elif method == "GET" and path == "/_requests":
            with STATE.lock:
                self.send_control(200, list(STATE.requests))
        elif method == "POST" and path == "/_reset":
            with STATE.lock:
                STATE.reset()
            self.send_control(200, {"ok": True})
        elif method == "POST" and path == "/_fail":
            self.control_fail(body)
        elif method == "POST" and path == "/_ratelimit":
            if not isinstance(body, dict):
                self.send_control(400, {"error": "expected a JSON object"})
                return
            with STATE.lock:
                STATE.rl_limit = int(body.get("limit", STATE.rl_limit))
                if "remaining" in body:
                    STATE.rl_used = max(0, STATE.rl_limit - int(body["remaining"]))
                if "reset_in" in body:
                    STATE.rl_reset = int(time.time() + float(body["reset_in"]))
            self.send_control(200, {"ok": True})
        elif method == "GET" and path.startswith("/_state/"):
            self.control_state(path)
        else:
            self.send_control(404, {"error": "not found: " + path})

    def control_fail(self, body):
        if not isinstance(body, dict):
            self.send_control(400, {"error": "expected a JSON object"})
            return
        mode = str(body.get("mode", "none"))
        if mode not in FAULT_MODES:
            self.send_control(400, {"error": "unknown mode %r; one of %s" % (mode, FAULT_MODES)})
            return
        try:
            fault = {
                "mode": mode,
                "count": int(body.get("count", 1)),
                "path_contains": body.get("path_contains") or None,
                "method": str(body["method"]).upper() if body.get("method") else None,
                "retry_after": body.get("retry_after"),
                "delay_ms": int(body.get("delay_ms", 2000)),
            }
        except (TypeError, ValueError) as e:
            self.send_control(400, {"error": str(e)})
            return
        with STATE.lock:
            if not body.get("append"):
                STATE.faults = []
            if mode != "none" and fault["count"] != 0:
                STATE.faults.append(fault)
            armed = [dict(f) for f in STATE.faults]
        self.send_control(200, {"ok": True, "faults": armed})

    def control_state(self, path):
        m = re.match(r"^/_state/([^/]+)/([^/]+)/(issues/(\d+)|releases)$", path)
        if not m:
            self.send_control(404, {"error": "not found: " + path})
            return
        with STATE.lock:
            repo = STATE.repos.get(("%s/%s" % (m.group(1), m.group(2))).lower())
            if repo is None:
                self.send_control(404, {"error": "unknown repository"})
                return
            r = Renderer(STATE, self.base_url())
            if m.group(3) == "releases":
                self.send_control(200, [r.release(repo, x) for x in repo["releases"]])
                return
            try:
                item = find_item(repo, m.group(4))
            except ApiError:
                self.send_control(404, {"error": "unknown issue"})
                return
            obj = r.issue(repo, item)
            if "pull_request" in item:
                pull = r.pull(repo, item, full=True)
                for key in ("head", "base", "requested_reviewers", "merged_at", "merged"):
                    obj[key] = pull[key]
            obj["comment_list"] = [r.comment(repo, item, c) for c in item["comments"]]
            self.send_control(200, copy.deepcopy(obj))

    # ---- entry points ---------------------------------------------------------------
    def dispatch(self):
        path = urlsplit(self.path).path
        if path.startswith("/_"):
            self.handle_control(self.command, path)
        else:
            self.handle_api()

    do_GET = dispatch
    do_POST = dispatch
    do_PATCH = dispatch
    do_PUT = dispatch
    do_DELETE = dispatch

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


NUM = r"(\d+)"
ROUTES = [
    ("GET", r"^$", Handler.ep_repo),
    ("GET", r"^/pulls$", Handler.ep_pulls),
    ("GET", r"^/pulls/%s$" % NUM, Handler.ep_pull),
    ("GET", r"^/pulls/%s/files$" % NUM, Handler.ep_pull_files),
    ("POST", r"^/pulls/%s/requested_reviewers$" % NUM, Handler.ep_request_reviewers),
    ("GET", r"^/issues$", Handler.ep_issues),
    ("GET", r"^/issues/%s$" % NUM, Handler.ep_issue),
    ("PATCH", r"^/issues/%s$" % NUM, Handler.ep_issue_update),
    ("GET", r"^/issues/%s/labels$" % NUM, Handler.ep_issue_labels),
    ("POST", r"^/issues/%s/labels$" % NUM, Handler.ep_issue_labels_add),
    ("GET", r"^/issues/%s/comments$" % NUM, Handler.ep_comments),
    ("POST", r"^/issues/%s/comments$" % NUM, Handler.ep_comment_create),
    ("GET", r"^/labels$", Handler.ep_labels),
    ("GET", r"^/compare/(.+)$", Handler.ep_compare),
    ("GET", r"^/commits$", Handler.ep_commits),
    ("GET", r"^/commits/([^/]+)$", Handler.ep_commit),
    ("GET", r"^/tags$", Handler.ep_tags),
    ("GET", r"^/releases$", Handler.ep_releases),
    ("GET", r"^/releases/latest$", Handler.ep_release_latest),
    ("GET", r"^/releases/tags/(.+)$", Handler.ep_release_by_tag),
    ("POST", r"^/releases$", Handler.ep_release_create),
    ("GET", r"^/actions/runs$", Handler.ep_runs),
    ("GET", r"^/actions/runs/%s$" % NUM, Handler.ep_run),
    ("GET", r"^/actions/runs/%s/jobs$" % NUM, Handler.ep_jobs),
    ("GET", r"^/collaborators$", Handler.ep_collaborators),
]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global STATE
    parser = argparse.ArgumentParser(description="Fake GitHub REST API for tests.")
    parser.add_argument("--world", default=DEFAULT_WORLD, help="world JSON file")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    args = parser.parse_args()
    STATE = State(args.world)
    server = Server(("127.0.0.1", args.port), Handler)
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
