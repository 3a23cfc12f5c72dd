"""Cloning with real git, from local repositories served through a ``file://`` git base, including hostile
ones: hooks wired up every way git allows, symlinks out of the tree, submodules, huge files and trees,
names that are not UTF-8, and URLs that git would read as options or commands."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import insert, select, update
from typer.testing import CliRunner

from ptmscope.cli.clone import clone, parse_size
from ptmscope.config import Settings
from ptmscope.errors import UsageError
from ptmscope.github.clone import (
    CloneError,
    CloneLimits,
    UnsafeUrlError,
    clone_repo,
    clone_url,
    display_name,
    remote_head,
    safe_walk,
    update_repo,
)
from ptmscope.github.cloning import clone_all, clone_path
from ptmscope.store import Store, open_store, schema
from ptmscope.store.clones import add_pending, select_targets
from ptmscope.store.db import utcnow

GIT = shutil.which("git") or "git"
R = schema.repository


# --- upstream repositories -------------------------------------------------------------------------------


class Upstream:
    """Repositories at ``root/<owner>/<name>``, made with git isolated from this machine's configuration."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {"PATH": os.environ["PATH"], "HOME": str(root), "GIT_CONFIG_NOSYSTEM": "1",
                    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}

    @property
    def base(self) -> str:
        return f"file://{self.root}"

    def url(self, owner: str, name: str) -> str:
        return f"{self.base}/{owner}/{name}"

    def git(self, repo: Path, *args: str | bytes) -> str:
        # The hostile repositories carry hooks of their own; building them must not run those.
        done = subprocess.run([GIT, "-c", "protocol.file.allow=always", "-c", "core.hooksPath=/dev/null", *args],
                              cwd=repo, env=self.env,
                              check=True, capture_output=True)
        return done.stdout.decode().strip()

    def feed(self, repo: Path, data: bytes, *args: str) -> str:
        """A plumbing command reading ``data`` on stdin (mktree, hash-object): builds what porcelain refuses."""
        done = subprocess.run([GIT, *args], input=data, cwd=repo, env=self.env, check=True, capture_output=True)
        return done.stdout.decode().strip()

    def create(self, owner: str, name: str, files: Mapping[str | bytes, bytes | str], *,
               links: Mapping[str, str] | None = None, template: Path | None = None) -> Path:
        repo = self.root / owner / name
        repo.mkdir(parents=True)
        self.git(repo, "init", "-q", "-b", "main", *([f"--template={template}"] if template else []))
        self.commit(repo, files, links=links)
        return repo

    def commit(self, repo: Path, files: Mapping[str | bytes, bytes | str], *, links: Mapping[str, str] | None = None,
               remove: tuple[str, ...] = ()) -> str:
        for rel, content in files.items():
            path = os.path.join(os.fsencode(repo), os.fsencode(rel))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(content.encode() if isinstance(content, str) else content)
        for rel, target in (links or {}).items():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, repo / rel)
        for rel in remove:
            (repo / rel).unlink()
        self.git(repo, "add", "-A")
        self.git(repo, "commit", "-q", "-m", "change")
        return self.git(repo, "rev-parse", "HEAD")


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    return Upstream(tmp_path / "remotes")


@pytest.fixture
def settings(tmp_path: Path, upstream: Upstream) -> Settings:
    return Settings(data_dir=tmp_path / "data", git_base=upstream.base)


@pytest.fixture
def git_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """The git commands ptmscope ran (their verbs, in order), through a logging ``git`` first on PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "git.log"
    wrapper = bindir / "git"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{GIT}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")

    def verbs() -> list[str]:
        found = []
        for line in log.read_text().splitlines() if log.exists() else []:
            words = line.split(" ")
            while words and words[0] == "-c":
                words = words[2:]
            found.append(words[0] if words else "")
        log.unlink(missing_ok=True)
        return found

    return verbs


def _row(store: Store, full_name: str) -> dict[str, Any]:
    with store.engine.connect() as conn:
        row = conn.execute(select(R).where(R.c.full_name_lower == full_name.lower())).mappings().one()
        return dict(row)


# --- remote HEAD, clone, update ------------------------------------------------------------------------


def test_remote_head(upstream: Upstream) -> None:
    repo = upstream.create("acme", "tiny", {"README.md": "hi\n"})
    sha = upstream.git(repo, "rev-parse", "HEAD")
    assert remote_head(upstream.url("acme", "tiny")) == sha
    assert remote_head(upstream.url("acme", "tiny"), "main") == sha
    assert remote_head(upstream.url("acme", "tiny"), "nope") is None
    with pytest.raises(CloneError, match="does not appear to be a git repository"):
        remote_head(upstream.url("acme", "gone"))


def test_clone_then_unchanged_then_update(db_url: str, upstream: Upstream, settings: Settings,
                                          git_calls: Callable[[], list[str]]) -> None:
    repo = upstream.create("Acme", "Tiny", {"README.md": "hi\n", "src/a.py": "print(1)\n"})
    store = open_store(db_url)

    first = clone_all(store, settings, names=[("Acme", "Tiny")])
    assert (first.cloned, first.failed) == (1, 0)
    row = _row(store, "acme/tiny")
    assert row["status"] == "pending"  # added because the store had not heard of it
    assert row["clone_status"] == "cloned" and row["clone_reason"] is None
    assert row["cloned_sha"] == upstream.git(repo, "rev-parse", "HEAD")
    assert row["clone_path"] == "github.com/acme/tiny"
    assert (row["clone_files"], row["clone_bytes"]) == (2, 12)
    checkout = clone_path(settings, row["clone_path"])
    assert (checkout / "src" / "a.py").read_text() == "print(1)\n"
    assert "clone" in git_calls()

    second = clone_all(store, settings, names=[("acme", "tiny")])
    assert (second.unchanged, second.cloned, second.updated) == (1, 0, 0)
    calls = git_calls()
    assert "ls-remote" in calls and not {"clone", "fetch", "checkout"} & set(calls)

    new = upstream.commit(repo, {"README.md": "hello\n", "NEW.txt": "new\n"}, remove=("src/a.py",))
    third = clone_all(store, settings)  # --all: pending repositories too
    assert (third.updated, third.unchanged) == (1, 0)
    assert "fetch" in git_calls()
    row = _row(store, "acme/tiny")
    assert row["cloned_sha"] == new
    assert sorted(f.rel for f in safe_walk(checkout)) == ["NEW.txt", "README.md"]

    with store.engine.connect() as conn:
        runs = conn.execute(select(schema.run).where(schema.run.c.stage == "clone")).mappings().all()
    assert [r["status"] for r in runs] == ["completed"] * 3
    assert runs[2]["counts"]["updated"] == 1 and runs[0]["versions"]["git"]


def test_a_failure_is_recorded_and_the_run_goes_on(db_url: str, upstream: Upstream, settings: Settings) -> None:
    upstream.create("acme", "tiny", {"README.md": "hi\n"})
    store = open_store(db_url)
    summary = clone_all(store, settings, names=[("ghost", "missing"), ("acme", "tiny")], workers=2)
    assert (summary.cloned, summary.failed) == (1, 1)
    row = _row(store, "ghost/missing")
    assert row["clone_status"] == "failed" and "does not appear to be a git repository" in row["clone_reason"]
    with store.engine.connect() as conn:
        failure = conn.execute(select(schema.failure)).mappings().one()
        run = conn.execute(select(schema.run)).mappings().one()
    assert (failure["stage"], failure["item"]) == ("clone", "ghost/missing")
    assert run["status"] == "completed" and run["counts"]["failed"] == 1


def test_selection_by_status_name_and_former_name(db_url: str) -> None:
    store = open_store(db_url)
    with store.engine.begin() as conn:
        assert add_pending(conn, "github.com", [("A", "One"), ("b", "two"), ("c", "three"), ("a", "one")]) == 3
        conn.execute(update(R).where(R.c.full_name_lower == "b/two").values(status="ok"))
        conn.execute(update(R).where(R.c.full_name_lower == "c/three").values(status="not_found"))
        pk = conn.execute(select(R.c.id).where(R.c.full_name_lower == "b/two")).scalar_one()
        conn.execute(insert(schema.repo_alias).values(host="github.com", old_name_lower="old/two", repository=pk,
                                                      evidence="http_301", detected_at=utcnow()))
        assert [t.full_name for t in select_targets(conn, "github.com")] == ["A/One", "b/two"]
        assert [t.full_name for t in select_targets(conn, "github.com", [("OLD", "Two"), ("c", "THREE")])] == [
            "b/two", "c/three"]
        assert add_pending(conn, "github.com", [("old", "two"), ("C", "Three")]) == 0
        sources = conn.execute(select(schema.repo_source.c.perspective)).scalars().all()
        assert sources == ["user"] * 3


# --- hostile repositories --------------------------------------------------------------------------------


def _hook(path: Path, marker: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    path.chmod(0o755)


HOOK_VECTORS: dict[str, Callable[[dict[str, str]], dict[str, str]]] = {
    # A global core.hooksPath relative to the work tree wires up the repository's committed hooks.
    "global hooksPath to committed .githooks": lambda h: {"GIT_CONFIG_GLOBAL": h["hookspath_config"]},
    "global init.templateDir": lambda h: {"GIT_CONFIG_GLOBAL": h["template_config"]},
    "GIT_TEMPLATE_DIR": lambda h: {"GIT_TEMPLATE_DIR": h["template"]},
    "GIT_CONFIG_COUNT": lambda h: {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.hooksPath",
                                   "GIT_CONFIG_VALUE_0": h["hooks"]},
    "GIT_CONFIG_PARAMETERS": lambda h: {"GIT_CONFIG_PARAMETERS": f"'core.hookspath'='{h['hooks']}'"},
    "GIT_CONFIG_SYSTEM": lambda h: {"GIT_CONFIG_SYSTEM": h["hookspath_config"]},
    "~/.gitconfig": lambda h: {"HOME": h["home"]},
    "XDG config": lambda h: {"XDG_CONFIG_HOME": h["xdg"]},
}


@pytest.mark.parametrize("vector", sorted(HOOK_VECTORS))
def test_no_hook_ever_runs(vector: str, upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    template, hooks, home = tmp_path / "template", tmp_path / "hooks", tmp_path / "home"
    for name in ("post-checkout", "reference-transaction", "post-merge", "pre-commit"):
        _hook(template / "hooks" / name, markers / f"template-{name}")
        _hook(hooks / name, markers / f"hooks-{name}")
    hookspath_config, template_config = tmp_path / "hookspath.gitconfig", tmp_path / "template.gitconfig"
    hookspath_config.write_text("[core]\n\thooksPath = .githooks\n")
    template_config.write_text(f"[init]\n\ttemplateDir = {template}\n")
    (home / ".config" / "git").mkdir(parents=True)
    shutil.copy(hookspath_config, home / ".gitconfig")
    shutil.copy(template_config, home / ".config" / "git" / "config")

    # The source itself has hooks (from a template) and commits a .githooks directory.
    committed: dict[str | bytes, bytes | str] = {
        ".githooks/post-checkout": f"#!/bin/sh\ntouch '{markers}/committed'\n", "README.md": "hi\n"}
    repo = upstream.create("evil", "hooks", committed, template=template)
    (repo / ".githooks" / "post-checkout").chmod(0o755)
    upstream.git(repo, "add", "-A")
    upstream.git(repo, "commit", "-q", "-m", "executable")
    assert upstream.git(repo, "ls-files", "-s", ".githooks/post-checkout").startswith("100755")
    assert (repo / ".git" / "hooks" / "post-checkout").exists()

    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    places = {"hookspath_config": str(hookspath_config), "template_config": str(template_config),
              "template": str(template), "hooks": str(hooks), "home": str(home), "xdg": str(home / ".config")}
    for key, value in HOOK_VECTORS[vector](places).items():
        monkeypatch.setenv(key, value)

    # The vector is live: a naive clone in this environment runs a hook.
    url = upstream.url("evil", "hooks")
    subprocess.run([GIT, "-c", "protocol.file.allow=always", "clone", "-q", url, str(tmp_path / "naive")],
                   check=True, capture_output=True)
    assert list(markers.iterdir()), f"{vector}: no hook ran even without protection; the test proves nothing"
    for f in markers.iterdir():
        f.unlink()

    dest = tmp_path / "data" / "evil" / "hooks"
    assert clone_repo(url, dest).status == "cloned"
    upstream.commit(repo, {"README.md": "changed\n"})
    assert update_repo(url, dest).status == "cloned"
    assert (dest / ".githooks" / "post-checkout").exists()
    assert list(markers.iterdir()) == []
    assert not (dest / ".git" / "hooks").exists()
    # Anyone running git in the clone later is protected too.
    assert "hookspath = /dev/null" in (dest / ".git" / "config").read_text().lower()


def test_symlinks_are_kept_recorded_and_never_followed(upstream: Upstream, tmp_path: Path) -> None:
    links = {"passwd": "/etc/passwd", "etc": "/etc", "escape": "../../../../../../../../etc/passwd",
             "docs/up": "../README.md", "inside": "docs/readme.md", "loop": "loop"}
    upstream.create("evil", "links", {"README.md": "hi\n", "docs/readme.md": "docs\n"}, links=links)
    dest = tmp_path / "clone"
    result = clone_repo(upstream.url("evil", "links"), dest)
    assert result.status == "cloned"
    assert sorted(result.outside_links) == [("escape", "../../../../../../../../etc/passwd"), ("etc", "/etc"),
                                            ("passwd", "/etc/passwd")]
    assert all((dest / name).is_symlink() for name in links)
    assert result.file_count == 2 + len(links) and result.byte_count == len("hi\ndocs\n")
    walked = list(safe_walk(dest))
    assert [f.rel for f in walked] == ["README.md", "docs/readme.md"]
    root = os.path.realpath(dest)
    assert all(os.path.realpath(f.path).startswith(root + os.sep) for f in walked)
    assert "symlinks leaving the tree: escape -> ../../../../../../../../etc/passwd, etc -> /etc" in (
        result.notes() or "")


def test_an_update_never_writes_through_an_old_symlink(upstream: Upstream, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = upstream.create("evil", "swap", {"README.md": "hi\n"}, links={"dir": str(outside)})
    dest = tmp_path / "clone"
    assert clone_repo(upstream.url("evil", "swap"), dest).outside_links == [("dir", str(outside))]
    (repo / "dir").unlink()
    upstream.commit(repo, {"dir/planted.sh": "#!/bin/sh\n"})
    result = update_repo(upstream.url("evil", "swap"), dest)
    assert result.outside_links == [] and (dest / "dir" / "planted.sh").is_file()
    assert list(outside.iterdir()) == []


def test_submodules_are_not_cloned(upstream: Upstream, tmp_path: Path) -> None:
    upstream.create("other", "lib", {"secret.txt": "from the submodule\n"})
    repo = upstream.create("evil", "sub", {"README.md": "hi\n"})
    upstream.git(repo, "submodule", "add", "-q", upstream.url("other", "lib"), "vendor/lib")
    upstream.git(repo, "commit", "-q", "-m", "submodule")
    dest = tmp_path / "clone"
    result = clone_repo(upstream.url("evil", "sub"), dest)
    assert result.status == "cloned" and result.submodules == ["vendor/lib"]
    assert (dest / ".gitmodules").is_file()
    assert not list((dest / "vendor" / "lib").iterdir())
    assert not (dest / ".git" / "modules").exists()
    assert "secret.txt" not in {Path(f.rel).name for f in safe_walk(dest)}


def test_oversized_files_are_left_out_and_listed(upstream: Upstream, tmp_path: Path) -> None:
    repo = upstream.create("big", "file", {"README.md": "hi\n", "data/huge.bin": os.urandom(5000)})
    dest = tmp_path / "clone"
    limits = CloneLimits(max_file_bytes=1000)
    result = clone_repo(upstream.url("big", "file"), dest, limits=limits)
    assert result.status == "partial" and result.left_out == [("data/huge.bin", 5000)]
    assert not (dest / "data" / "huge.bin").exists() and (dest / "README.md").read_text() == "hi\n"
    assert (result.file_count, result.byte_count) == (1, 3)
    assert "data/huge.bin (5000 bytes)" in (result.notes() or "")

    upstream.commit(repo, {"more.txt": "more\n"})
    again = update_repo(upstream.url("big", "file"), dest, limits=limits)
    assert again.status == "partial" and not (dest / "data" / "huge.bin").exists()
    assert sorted(f.rel for f in safe_walk(dest)) == ["README.md", "more.txt"]


@pytest.mark.parametrize(("limits", "reason"), [
    (CloneLimits(max_bytes=4000), "over the limit of 4000"),
    (CloneLimits(max_files=2), "more than 2 files"),
])
def test_over_the_limits_nothing_is_kept(limits: CloneLimits, reason: str, upstream: Upstream, tmp_path: Path) -> None:
    upstream.create("big", "repo", {"a.txt": "a\n", "b.txt": "b\n", "c.bin": os.urandom(5000)})
    dest = tmp_path / "owner" / "clone"
    result = clone_repo(upstream.url("big", "repo"), dest, limits=limits)
    assert result.status == "skipped" and reason in (result.reason or "") and result.sha
    assert list(dest.parent.iterdir()) == []


def test_a_download_over_the_limit_is_stopped(upstream: Upstream, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    upstream.create("big", "pack", {"c.bin": os.urandom(50_000)})
    # A git that finishes its download, then stalls: only the watch on the download can end it.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "git").write_text(f'#!/bin/sh\n"{GIT}" "$@" || exit $?\ncase "$*" in *" clone "*) exec sleep 30;; esac\n')
    (bindir / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    result = clone_repo(upstream.url("big", "pack"), tmp_path / "clone", limits=CloneLimits(max_bytes=20_000))
    assert result.status == "skipped" and "download passed" in (result.reason or "")


def test_a_tree_bomb_is_skipped_without_checkout(upstream: Upstream, tmp_path: Path) -> None:
    repo = upstream.root / "bomb" / "tree"
    repo.mkdir(parents=True)
    upstream.git(repo, "init", "-q", "-b", "main")
    blob = upstream.feed(repo, b"x\n", "hash-object", "-w", "--stdin")
    tree = upstream.feed(repo, f"100644 blob {blob}\tf\n".encode(), "mktree")
    for _level in range(4):  # 50**4 = 6.25 million paths from a few kilobytes
        tree = upstream.feed(repo, "".join(f"040000 tree {tree}\td{i:02}\n" for i in range(50)).encode(), "mktree")
    commit = upstream.git(repo, "commit-tree", "-m", "bomb", tree)
    upstream.git(repo, "update-ref", "refs/heads/main", commit)
    dest = tmp_path / "clone"
    result = clone_repo(upstream.url("bomb", "tree"), dest)
    assert result.status == "skipped" and "more than 100000 files" in (result.reason or "")
    assert not dest.exists()


def test_names_that_are_not_utf8(upstream: Upstream, tmp_path: Path) -> None:
    upstream.create("odd", "names", {b"caf\xe9.txt": b"latin-1\n", b"d\xff/x.txt": b"x\n", "ok.txt": "ok\n"})
    dest = tmp_path / "clone"
    result = clone_repo(upstream.url("odd", "names"), dest)
    assert result.status == "cloned" and result.file_count == 3
    assert result.odd_names == ["caf\\xe9.txt", "d\\xff"]
    walked = {f.display: f for f in safe_walk(dest)}
    assert set(walked) == {"caf\\xe9.txt", "d\\xff/x.txt", "ok.txt"}
    assert walked["caf\\xe9.txt"].path.read_bytes() == b"latin-1\n"
    assert display_name(b"caf\xc3\xa9") == "café"


def test_hostile_repository_recorded_in_the_store(db_url: str, upstream: Upstream, settings: Settings,
                                                  git_calls: Callable[[], list[str]]) -> None:
    upstream.create("evil", "all", {"README.md": "hi\n", b"caf\xe9.py": b"x = 1\n", "w.bin": os.urandom(3000)},
                    links={"passwd": "/etc/passwd"})
    upstream.create("big", "repo", {"c.bin": os.urandom(9000)})
    store = open_store(db_url)
    limits = CloneLimits(max_bytes=8000, max_file_bytes=2000)
    summary = clone_all(store, settings, names=[("evil", "all"), ("big", "repo")], limits=limits)
    assert (summary.cloned, summary.partial, summary.skipped) == (1, 1, 1)

    evil = _row(store, "evil/all")
    assert evil["clone_status"] == "partial" and (evil["clone_files"], evil["clone_bytes"]) == (3, 9)
    for part in ("w.bin (3000 bytes)", "passwd -> /etc/passwd", "non-UTF-8 names: caf\\xe9.py"):
        assert part in evil["clone_reason"]
    big = _row(store, "big/repo")
    assert big["clone_status"] == "skipped" and big["clone_path"] is None and big["cloned_sha"]
    assert "over the limit of 8000" in big["clone_reason"]
    assert not (settings.repos_dir / "github.com" / "big" / "repo").exists()

    git_calls()
    again = clone_all(store, settings, names=[("evil", "all"), ("big", "repo")], limits=limits)
    assert again.unchanged == 2
    assert not {"clone", "fetch"} & set(git_calls())  # a skipped repository is not downloaded again


# --- URLs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "-uhttps://example.org/x", "--upload-pack=touch /tmp/ptmscope-pwned", "ext::sh -c touch% /tmp/ptmscope-pwned",
    "fd::17", "foo::https://example.org/x", "file:///tmp/x\nfile:///tmp/y", "/tmp/local/path", "ftp://example.org/x",
])
def test_unsafe_urls_are_refused_before_git_runs(url: str, tmp_path: Path,
                                                  git_calls: Callable[[], list[str]]) -> None:
    for attempt in (lambda: clone_repo(url, tmp_path / "c"), lambda: remote_head(url),
                    lambda: update_repo(url, tmp_path / "c")):
        with pytest.raises(UnsafeUrlError):
            attempt()
    assert git_calls() == []
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(("owner", "name"), [("..", "x"), ("a", "."), ("a/b", "c"), ("a", "b c"), ("", "x")])
def test_names_that_would_change_the_path_are_refused(owner: str, name: str) -> None:
    with pytest.raises(UnsafeUrlError):
        clone_url("https://github.com", owner, name)


def test_git_is_stopped_at_the_timeout(upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    upstream.create("slow", "remote", {"a": "a\n"})
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "git").write_text("#!/bin/sh\nexec sleep 30\n")
    (bindir / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(CloneError, match=r"no result within 0\.3 s"):
        remote_head(upstream.url("slow", "remote"), timeout=0.3)


# --- command line -----------------------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    app = typer.Typer()
    app.command()(clone)
    monkeypatch.setenv("PTMSCOPE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PTMSCOPE_GIT_BASE", upstream.base)
    monkeypatch.delenv("PTMSCOPE_DB", raising=False)
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))


def test_cli(cli: Callable[..., Any], upstream: Upstream, tmp_path: Path) -> None:
    upstream.create("Acme", "Tiny", {"README.md": "hi\n"})
    upstream.create("Acme", "Big", {"big.bin": os.urandom(3000)})
    done = cli("Acme/Tiny", "Acme/Big.git", "--max-size", "2K", "--workers", "2")
    assert done.exit_code == 0, done.output
    assert "1 cloned" in done.output and "1 skipped" in done.output
    assert "skipped Acme/Big: download of" in done.output
    assert (tmp_path / "data" / "repos" / "github.com" / "acme" / "tiny" / "README.md").exists()
    assert "2 unchanged" in cli("--all", "--max-size", "2K").output
    for args in ((), ("--all", "acme/tiny"), ("not-a-repo",), ("a/..",), ("--all", "--max-size", "lots")):
        assert isinstance(cli(*args).exception, UsageError), args


def test_parse_size() -> None:
    assert parse_size("2G", "-") == 2 << 30
    assert parse_size("1.5MiB", "-") == 3 << 19
    assert parse_size("512", "-") == 512
    assert parse_size("10kb", "-") == 10 << 10


def test_safe_walk_reports_what_it_cannot_list(tmp_path: Path) -> None:
    seen: list[str] = []
    assert list(safe_walk(tmp_path / "missing", lambda rel, _exc: seen.append(rel))) == []
    assert seen == ["."]


def _raw_commit(upstream: Upstream, repo: Path, tree_listing: str, author_tz: str = "+0000") -> None:
    tree = upstream.feed(repo, tree_listing.encode(), "mktree")
    body = (f"tree {tree}\nauthor A <a@example.org> 1234567890 {author_tz}\n"
            f"committer A <a@example.org> 1234567890 +0000\n\nraw\n")
    commit = upstream.feed(repo, body.encode(), "hash-object", "-t", "commit", "-w", "--literally", "--stdin")
    upstream.git(repo, "update-ref", "refs/heads/main", commit)


def test_fsck_refuses_trees_that_write_into_git_but_not_old_commit_headers(upstream: Upstream,
                                                                           tmp_path: Path) -> None:
    old = upstream.create("old", "repo", {"README.md": "hi\n"})
    blob = upstream.git(old, "rev-parse", "HEAD:README.md")
    _raw_commit(upstream, old, f"100644 blob {blob}\tREADME.md\n", author_tz="+99999")
    assert clone_repo(upstream.url("old", "repo"), tmp_path / "old").status == "cloned"

    evil = upstream.create("evil", "dotgit", {"README.md": "hi\n"})
    hooks = upstream.feed(evil, f"100755 blob {blob}\tpost-checkout\n".encode(), "mktree")
    dotgit = upstream.feed(evil, f"040000 tree {hooks}\thooks\n".encode(), "mktree")
    _raw_commit(upstream, evil, f"040000 tree {dotgit}\t.GIT\n100644 blob {blob}\tREADME.md\n")
    with pytest.raises(CloneError, match="hasDotgit"):
        clone_repo(upstream.url("evil", "dotgit"), tmp_path / "evil")
    assert not (tmp_path / "evil").exists()
