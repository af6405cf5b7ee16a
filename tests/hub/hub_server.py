"""A small Hugging Face Hub-compatible HTTP server (stdlib only) for tests: the endpoints that huggingface_hub,
transformers, datasets and evaluate use to create repos, commit (regular and LFS files), list, resolve and download.

Repos live in memory: each has branches pointing at commits, each commit a full snapshot {path: bytes}. Tokens map to
user names; a private repo answers as "not found" (401, as the Hub does) to anyone but its owner. ``fail`` makes the
next request to an endpoint drop the connection without answering, to test network failures.

Run it standalone with ``python tests/hub/hub_server.py --port 8765 --token hf_user=alice``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".parquet", ".arrow", ".mp4", ".npz")
LFS_THRESHOLD = 10 * 1024 * 1024


def git_blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class Repo:
    def __init__(self, repo_type: str, repo_id: str, owner: str, private: bool, sdk: str | None = None):
        self.repo_type, self.repo_id, self.owner, self.private, self.sdk = repo_type, repo_id, owner, private, sdk
        initial = uuid.uuid4().hex + uuid.uuid4().hex[:8]
        self.commits: dict[str, dict] = {initial: {"files": {}, "lfs": set(), "parent": None, "title": "initial commit"}}
        self.branches = {"main": initial}
        self.tags: dict[str, str] = {}

    def resolve(self, revision: str) -> str | None:
        revision = unquote(revision)
        if revision in self.branches:
            return self.branches[revision]
        if revision in self.tags:
            return self.tags[revision]
        return revision if revision in self.commits else None


class HubState:
    def __init__(self, tokens: dict[str, str]):
        self.tokens = dict(tokens)  # token -> user name
        self.repos: dict[tuple[str, str], Repo] = {}
        self.blobs: dict[str, bytes] = {}  # LFS objects by sha256
        self.lock = threading.RLock()
        self.failures: dict[tuple[str, str], int] = {}  # (endpoint name, repo id prefix) -> requests to drop
        self.requests: list[tuple[str, str]] = []


class HubServer:
    """``with HubServer(tokens={"hf_alice": "alice"}) as hub: os.environ["HF_ENDPOINT"] = hub.url``."""

    def __init__(self, tokens: dict[str, str] | None = None, host: str = "127.0.0.1", port: int = 0):
        self.state = HubState(tokens or {})
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        handler.endpoint = self.url
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> HubServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail(self, endpoint: str, times: int = 1, repo_prefix: str = "") -> None:
        """Drop the connection of the next ``times`` requests to ``endpoint`` ("commit", "preupload", "lfs_batch",
        "resolve", ...) for repos whose id starts with ``repo_prefix``."""
        self.state.failures[(endpoint, repo_prefix)] = times

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: HubState
    endpoint: str

    def log_message(self, format, *args):  # quiet
        pass

    # Plumbing

    def _user(self) -> str | None:
        header = self.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return self.state.tokens.get(header[7:].strip())
        return None

    def _body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes | dict | list = b"", headers: dict | None = None, head: bool = False):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _error(self, status: int, code: str | None, message: str, head: bool = False):
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._send(status, {"error": message}, headers, head=head)

    def _repo(self, repo_type: str, repo_id: str, write: bool = False, head: bool = False) -> Repo | None:
        repo = self.state.repos.get((repo_type, repo_id))
        user = self._user()
        if repo is None or (repo.private and user != repo.owner):
            # The Hub hides private repos: same answer as a missing one.
            self._error(401 if user is None else 404, "RepoNotFound", f"Repository Not Found for url: {self.path}.", head)
            return None
        if write and user != repo.owner:
            self._error(403 if user else 401, None, f"You don't have the rights to write to {repo_id}.", head)
            return None
        return repo

    def _should_fail(self, endpoint: str, repo: str) -> bool:
        for (name, prefix), left in self.state.failures.items():
            if name == endpoint and repo.startswith(prefix) and left > 0:
                self.state.failures[(name, prefix)] = left - 1
                self.close_connection = True
                self.connection.shutdown(2)  # the network goes away mid-request
                return True
        return False

    # Routing

    def do_HEAD(self):
        self._route("HEAD")

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_PUT(self):
        self._route("PUT")

    def do_DELETE(self):
        self._route("DELETE")

    ROUTES = [
        ("GET", r"/api/whoami-v2", "whoami"),
        ("POST", r"/api/repos/create", "create_repo"),
        ("DELETE", r"/api/repos/delete", "delete_repo"),
        ("POST", r"/api/validate-yaml", "validate_yaml"),
        ("POST", r"/api/(?P<type>model|dataset|space)s/(?P<repo>[^/]+/[^/]+)/preupload/(?P<rev>[^/]+)", "preupload"),
        ("POST", r"/api/(?P<type>model|dataset|space)s/(?P<repo>[^/]+/[^/]+)/commit/(?P<rev>[^/]+)", "commit"),
        ("GET", r"/api/(?P<type>model|dataset|space)s/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", "tree"),
        ("POST", r"/api/(?P<type>model|dataset|space)s/(?P<repo>[^/]+/[^/]+)/paths-info/(?P<rev>[^/]+)", "paths_info"),
        ("GET", r"/api/(?P<type>model|dataset|space)s/(?P<repo>[^/]+/[^/]+)/refs", "refs"),
        ("POST", r"/api/(?P<type>model|dataset|space)s/(?P<repo>[^/]+/[^/]+)/branch/(?P<branch>[^/]+)", "create_branch"),
        ("POST", r"/api/(?P<type>model|dataset|space)s/(?P<repo>[^/]+/[^/]+)/tag/(?P<rev>[^/]+)", "create_tag"),
        ("GET", r"/api/(?P<type>model|dataset|space)s/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?", "repo_info"),
        ("POST", r"/(?P<prefix>datasets/|spaces/)?(?P<repo>[^/]+/[^/]+)\.git/info/lfs/objects/batch", "lfs_batch"),
        ("PUT", r"/lfs-upload/(?P<oid>[0-9a-f]{64})", "lfs_upload"),
        ("GET", r"/(?P<prefix>datasets/|spaces/)?(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
        ("HEAD", r"/(?P<prefix>datasets/|spaces/)?(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
    ]

    def _route(self, method: str):
        url = urlsplit(self.path)
        self.query = parse_qs(url.query)
        self.state.requests.append((method, url.path))
        for route_method, pattern, name in self.ROUTES:
            if route_method != method:
                continue
            match = re.fullmatch(pattern, url.path)
            if match:
                if self._should_fail(name, match.groupdict().get("repo") or ""):
                    return
                with self.state.lock:
                    return getattr(self, name)(head=method == "HEAD", **match.groupdict())
        self._body()
        self._error(404, None, f"hub_server: no route for {method} {url.path}", head=method == "HEAD")

    # Endpoints

    def whoami(self, head=False):
        user = self._user()
        if user is None:
            return self._error(401, None, "Invalid user token.")
        self._send(200, {"type": "user", "name": user, "fullname": user, "orgs": [], "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "write"}}})

    def create_repo(self, head=False):
        payload = json.loads(self._body() or b"{}")
        user = self._user()
        if user is None:
            return self._error(401, None, "You must be authenticated to create a repo.")
        namespace = payload.get("organization") or user
        if namespace != user:
            return self._error(403, None, f"You don't have the rights to create a repo under {namespace}.")
        repo_type = payload.get("type") or "model"
        repo_id = f"{namespace}/{payload['name']}"
        url = f"{self.endpoint}/{PREFIXES[repo_type]}{repo_id}"
        if (repo_type, repo_id) in self.state.repos:
            # The Hub's conflict answer carries the url too (create_repo(exist_ok=True) reads it).
            message = "You already created this repo."
            return self._send(409, {"error": message, "url": url}, {"X-Error-Message": message})
        private = payload.get("private", payload.get("visibility") == "private")
        self.state.repos[(repo_type, repo_id)] = Repo(repo_type, repo_id, user, bool(private), payload.get("sdk"))
        self._send(200, {"url": url, "name": repo_id, "id": repo_id})

    def validate_yaml(self, head=False):
        payload = json.loads(self._body() or b"{}")
        content = payload.get("content", "")
        errors = []
        if content.startswith("---"):
            try:
                metadata = yaml.safe_load(content.split("---", 2)[1]) or {}
                if not isinstance(metadata, dict):
                    errors.append({"message": "the metadata block is not a mapping"})
                elif "model-index" in metadata and not isinstance(metadata["model-index"], list):
                    errors.append({"message": '"model-index" must be a list'})
            except yaml.YAMLError as error:
                errors.append({"message": f"invalid YAML: {error}"})
        self._send(400 if errors else 200, {"errors": errors, "warnings": []})

    def delete_repo(self, head=False):
        payload = json.loads(self._body() or b"{}")
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload.get('organization') or self._user()}/{payload['name']}"
        if self._repo(repo_type, repo_id, write=True):
            del self.state.repos[(repo_type, repo_id)]
            self._send(200, {})

    def _snapshot(self, repo_type: str, repo_id: str, rev: str, head=False) -> tuple[Repo, str] | None:
        """The readable repo and the commit ``rev`` names, or None once the error is answered."""
        repo = self._repo(repo_type, repo_id, head=head)
        if repo is None:
            return None
        sha = repo.resolve(rev)
        if sha is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {unquote(rev)}", head)
            return None
        return repo, sha

    def repo_info(self, type, repo, rev=None, head=False):
        found = self._snapshot(type, repo, rev or "main")
        if not found:
            return
        repo_obj, sha = found
        files = repo_obj.commits[sha]["files"]
        info = {
            "id": repo,
            "_id": hashlib.md5(repo.encode()).hexdigest()[:24],
            "author": repo.split("/")[0],
            "sha": sha,
            "private": repo_obj.private,
            "disabled": False,
            "gated": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "lastModified": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "createdAt": "2026-01-01T00:00:00.000Z",
            "siblings": [{"rfilename": path} for path in sorted(files)],
        }
        if type == "model":
            info["modelId"] = repo
        if type == "space":
            info["sdk"] = repo_obj.sdk
        readme = files.get("README.md")
        if readme and readme.startswith(b"---"):
            card = yaml.safe_load(readme.decode().split("---", 2)[1]) or {}
            info["cardData"] = card
            info["tags"] = list(card.get("tags", []))
            if "model-index" in card:
                info["model-index"] = card["model-index"]
        self._send(200, info)

    def refs(self, type, repo, head=False):
        repo_obj = self._repo(type, repo)
        if repo_obj:
            self._send(200, {
                "branches": [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": c} for n, c in repo_obj.branches.items()],
                "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": c} for n, c in repo_obj.tags.items()],
                "converts": [],
            })

    def create_branch(self, type, repo, branch, head=False):
        payload = json.loads(self._body() or b"{}")
        repo_obj = self._repo(type, repo, write=True)
        if repo_obj:
            branch = unquote(branch)
            if branch in repo_obj.branches:
                return self._error(409, None, f"Branch {branch} already exists.")
            repo_obj.branches[branch] = repo_obj.resolve(payload.get("startingPoint") or "main")
            self._send(200, {})

    def create_tag(self, type, repo, rev, head=False):
        payload = json.loads(self._body() or b"{}")
        repo_obj = self._repo(type, repo, write=True)
        if repo_obj:
            sha = repo_obj.resolve(rev)
            if sha is None:
                return self._error(404, "RevisionNotFound", f"Invalid rev id: {unquote(rev)}")
            repo_obj.tags[payload["tag"]] = sha
            self._send(200, {})

    def preupload(self, type, repo, rev, head=False):
        payload = json.loads(self._body() or b"{}")
        repo_obj = self._repo(type, repo, write=True)
        if not repo_obj:
            return
        files = []
        for file in payload.get("files", []):
            lfs = file["path"].endswith(LFS_SUFFIXES) or file["size"] >= LFS_THRESHOLD
            files.append({"path": file["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False})
        self._send(200, {"files": files, "commitOid": repo_obj.branches.get(unquote(rev))})

    def lfs_batch(self, repo, prefix=None, head=False):
        payload = json.loads(self._body() or b"{}")
        repo_type = {None: "model", "datasets/": "dataset", "spaces/": "space"}[prefix]
        if not self._repo(repo_type, repo, write=payload.get("operation") == "upload"):
            return
        objects = []
        for obj in payload.get("objects", []):
            entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in self.state.blobs:
                entry["actions"] = {"upload": {"href": f"{self.endpoint}/lfs-upload/{obj['oid']}", "header": {}}}
            objects.append(entry)
        self._send(200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"}, {"Content-Type": "application/vnd.git-lfs+json"})

    def lfs_upload(self, oid, head=False):
        content = self._body()
        if hashlib.sha256(content).hexdigest() != oid:
            return self._error(400, None, "sha256 of the upload does not match its oid.")
        self.state.blobs[oid] = content
        self._send(200, b"")

    def commit(self, type, repo, rev, head=False):
        body = self._body()
        repo_obj = self._repo(type, repo, write=True)
        if not repo_obj:
            return
        branch = unquote(rev)
        if branch not in repo_obj.branches:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {branch}")
        parent = repo_obj.branches[branch]
        files = dict(repo_obj.commits[parent]["files"])
        lfs = set(repo_obj.commits[parent]["lfs"])
        title = ""
        for line in body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                title = value.get("summary", "")
                if value.get("parentCommit") and value["parentCommit"] != parent:
                    return self._error(412, None, "A commit has happened since. Please refresh and try again.")
            elif key == "file":
                files[value["path"]] = base64.b64decode(value["content"])
                lfs.discard(value["path"])
            elif key == "lfsFile":
                if value["oid"] not in self.state.blobs:
                    return self._error(422, None, f"LFS object {value['oid']} of {value['path']} was never uploaded.")
                files[value["path"]] = self.state.blobs[value["oid"]]
                lfs.add(value["path"])
            elif key == "deletedFile":
                files.pop(value["path"], None)
                lfs.discard(value["path"])
            elif key == "deletedFolder":
                folder = value["path"].rstrip("/") + "/"
                for path in [p for p in files if p.startswith(folder)]:
                    files.pop(path)
                    lfs.discard(path)
        sha = hashlib.sha1(f"{parent}{time.time_ns()}{uuid.uuid4()}".encode()).hexdigest()
        repo_obj.commits[sha] = {"files": files, "lfs": lfs, "parent": parent, "title": title}
        repo_obj.branches[branch] = sha
        url = f"{self.endpoint}/{PREFIXES[type]}{repo}/commit/{sha}"
        self._send(200, {"commitUrl": url, "commitOid": sha, "pullRequestUrl": None, "success": True})

    def _entry(self, path: str, content: bytes, is_lfs: bool) -> dict:
        entry = {"type": "file", "path": path, "size": len(content), "oid": git_blob_sha(content)}
        if is_lfs:
            entry["lfs"] = {"oid": hashlib.sha256(content).hexdigest(), "size": len(content), "pointerSize": 134}
        return entry

    def tree(self, type, repo, rev, path=None, head=False):
        found = self._snapshot(type, repo, rev)
        if not found:
            return
        snapshot = found[0].commits[found[1]]
        prefix = (unquote(path).strip("/") + "/") if path else ""
        recursive = self.query.get("recursive", ["false"])[0].lower() in ("true", "1")
        entries, folders = [], set()
        for file_path, content in sorted(snapshot["files"].items()):
            if not file_path.startswith(prefix):
                continue
            rest = file_path[len(prefix) :]
            parts = rest.split("/")
            for depth in range(1, len(parts)):
                folder = prefix + "/".join(parts[:depth])
                if (recursive or depth == 1) and folder not in folders:
                    folders.add(folder)
                    entries.append({"type": "directory", "path": folder, "oid": git_blob_sha(folder.encode())})
            if recursive or len(parts) == 1:
                entries.append(self._entry(file_path, content, file_path in snapshot["lfs"]))
        if prefix and not entries:
            return self._error(404, "EntryNotFound", f"{path} does not exist on {unquote(rev)}")
        self._send(200, entries)

    def paths_info(self, type, repo, rev, head=False):
        body = self._body()
        found = self._snapshot(type, repo, rev)
        if not found:
            return
        if self.headers.get("content-type", "").startswith("application/json"):
            paths = json.loads(body).get("paths", [])
        else:
            paths = parse_qs(body.decode()).get("paths", [])
        snapshot = found[0].commits[found[1]]
        entries = []
        for path in paths:
            if path in snapshot["files"]:
                entries.append(self._entry(path, snapshot["files"][path], path in snapshot["lfs"]))
            elif any(p.startswith(path.rstrip("/") + "/") for p in snapshot["files"]):
                entries.append({"type": "directory", "path": path, "oid": git_blob_sha(path.encode())})
        self._send(200, entries)

    def resolve(self, repo, rev, path, prefix=None, head=False):
        repo_type = {None: "model", "datasets/": "dataset", "spaces/": "space"}[prefix]
        found = self._snapshot(repo_type, repo, rev, head=head)
        if not found:
            return
        sha = found[1]
        path = unquote(path)
        snapshot = found[0].commits[sha]
        if path not in snapshot["files"]:
            return self._error(404, "EntryNotFound", f"Entry not found: {path}", head)
        content = snapshot["files"][path]
        headers = {"X-Repo-Commit": sha, "ETag": f'"{git_blob_sha(content)}"', "Content-Type": "application/octet-stream"}
        if path in snapshot["lfs"]:
            headers["X-Linked-Etag"] = f'"{hashlib.sha256(content).hexdigest()}"'
            headers["X-Linked-Size"] = len(content)
        self._send(200, content, headers, head=head)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", action="append", default=[], help="TOKEN=USER, repeatable")
    args = parser.parse_args()
    server = HubServer({t.split("=")[0]: t.split("=")[1] for t in args.token}, port=args.port).start()
    print(f"serving on {server.url}", flush=True)
    server.thread.join()
