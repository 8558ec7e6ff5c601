"""Old generations are pruned from file and S3 stores; the newest state always survives."""

from __future__ import annotations

import time

import pytest

import _support_state
from _support_state import make_workspace, ok, synced_files
from observability.state.backends import open_store

s3_server = _support_state.s3_server


@pytest.fixture(params=["file", "s3"])
def kv_stores(request, tmp_path):
    return _support_state.StoreFactory(request.param, tmp_path, request)


def _push_generations(kv_stores, tmp_path, count: int, *extra: str):
    url = kv_stores.new()
    ws = make_workspace(tmp_path / "ws", {"ops/latency_state.json": '{"n": 0}\n'})
    ok(ws, "pull", url, env=kv_stores.env)
    summaries = []
    for n in range(1, count + 1):
        (ws / "ops" / "latency_state.json").write_text(f'{{"n": {n}}}\n')
        summaries.append(ok(ws, "push", url, *extra, env=kv_stores.env))
    return url, ws, summaries


def _keys(store, prefix):
    return sorted(key for key, _ in store._list(prefix))


def test_prune_keeps_the_newest_generations_and_only_their_blobs(kv_stores, tmp_path, monkeypatch):
    for key, value in kv_stores.env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    url, ws, _ = _push_generations(kv_stores, tmp_path, 6, "--keep-generations", "0")
    store = open_store(url)
    assert len(_keys(store, "manifests/")) == 6
    young = store.prune(2, now=time.time())  # every blob is younger than an hour: none may go
    assert young == {"manifests_removed": 4, "blobs_removed": 0}
    removed = store.prune(2, now=time.time() + 7200)
    assert removed["manifests_removed"] == 0 and removed["blobs_removed"] > 0
    assert [k.rsplit("/", 1)[-1] for k in _keys(store, "manifests/")] == ["000000000005.json", "000000000006.json"]
    from observability.state.manifest import parse

    referenced = set()
    for key in _keys(store, "manifests/"):
        referenced |= {e.sha256 for e in parse(store._get(key), where=key).files.values()}
    assert {k.rsplit("/", 1)[-1] for k in _keys(store, "blobs/")} == referenced
    fresh = make_workspace(tmp_path / "fresh")
    assert ok(fresh, "pull", url, env=kv_stores.env)["generation"] == 6
    assert synced_files(fresh)["ops/latency_state.json"] == b'{"n": 6}\n'


def test_every_sixteenth_push_prunes_old_manifests(kv_stores, tmp_path):
    url, ws, summaries = _push_generations(kv_stores, tmp_path, 16, "--keep-generations", "3")
    assert "pruned" not in summaries[14]
    assert summaries[15]["pruned"] == {"manifests_removed": 13, "blobs_removed": 0}  # blobs are too young
    fresh = make_workspace(tmp_path / "fresh")
    assert ok(fresh, "pull", url, env=kv_stores.env)["generation"] == 16
