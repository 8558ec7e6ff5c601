"""provenance.commit_sha off GitHub: HEAD read from the repository's files, equal to what
``git rev-parse HEAD`` says, with no git subprocess in the layouts it knows (real repositories)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from observability import provenance


def _git(*args, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


def _repo(path: Path) -> Path:
    path.mkdir(parents=True)
    _git("init", "-q", "-b", "main", cwd=path)
    (path / "a.txt").write_text("a\n")
    _git("add", "a.txt", cwd=path)
    _git("commit", "-q", "-m", "one", cwd=path)
    (path / "a.txt").write_text("b\n")
    _git("commit", "-q", "-am", "two", cwd=path)
    return path


@pytest.fixture
def no_subprocess(monkeypatch):
    """Fail the test if commit_sha asks git (the files alone must answer)."""
    provenance._git_head.cache_clear()
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    for name in provenance._GIT_ENV:
        monkeypatch.delenv(name, raising=False)
    calls = []
    monkeypatch.setattr(provenance, "_rev_parse", lambda root: calls.append(root) or "f" * 40)
    yield calls
    provenance._git_head.cache_clear()


def _truth(path: Path) -> str:
    return _git("rev-parse", "HEAD", cwd=path)


def test_a_branch_held_as_a_loose_ref(tmp_path, no_subprocess):
    repo = _repo(tmp_path / "r")
    (repo / "ws").mkdir()
    assert provenance.commit_sha(repo / "ws") == _truth(repo)
    assert no_subprocess == []


def test_a_branch_in_packed_refs_and_a_detached_head(tmp_path, no_subprocess):
    repo = _repo(tmp_path / "r")
    _git("pack-refs", "--all", cwd=repo)
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert provenance.commit_sha(repo) == _truth(repo)
    first = _git("rev-parse", "HEAD~1", cwd=repo)
    _git("checkout", "-q", "--detach", first, cwd=repo)
    provenance._git_head.cache_clear()
    assert provenance.commit_sha(repo) == first == _truth(repo)
    assert no_subprocess == []


def test_a_linked_worktree_on_its_own_branch(tmp_path, no_subprocess):
    repo = _repo(tmp_path / "r")
    _git("worktree", "add", "-q", "-b", "side", str(tmp_path / "wt"), "HEAD~1", cwd=repo)
    assert provenance.commit_sha(tmp_path / "wt") == _truth(tmp_path / "wt") != _truth(repo)
    assert no_subprocess == []


def test_no_repository_is_none_without_asking_git(tmp_path, no_subprocess):
    (tmp_path / "plain").mkdir()
    if subprocess.run(["git", "-C", str(tmp_path / "plain"), "rev-parse", "HEAD"], capture_output=True).returncode == 0:
        pytest.skip("the temporary directory is inside a git repository here")
    assert provenance.commit_sha(tmp_path / "plain") is None
    assert no_subprocess == []


def test_layouts_it_does_not_know_ask_git(tmp_path, no_subprocess, monkeypatch):
    repo = tmp_path / "unborn"
    repo.mkdir()
    _git("init", "-q", "-b", "main", cwd=repo)
    assert provenance.commit_sha(repo) == "f" * 40  # the stub: git was asked
    assert no_subprocess == [repo]
    provenance._git_head.cache_clear()
    other = _repo(tmp_path / "r")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    assert provenance.commit_sha(other) == "f" * 40
    assert no_subprocess == [repo, other]


def test_the_real_fallback_still_answers(tmp_path, monkeypatch):
    """With the reader declining (a GIT_* override), the git subprocess gives the same commit."""
    provenance._git_head.cache_clear()
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    repo = _repo(tmp_path / "r")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path / "nowhere"))
    try:
        assert provenance.commit_sha(repo) == _truth(repo)
    finally:
        provenance._git_head.cache_clear()
