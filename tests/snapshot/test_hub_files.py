"""The replay Hub's file endpoints, through huggingface_hub: trees (pages, folders, LFS, per-file security),
model info with ``securityStatus``, and downloads (LFS headers, byte ranges)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, RevisionNotFoundError
from huggingface_hub.hf_api import RepoFile, RepoFolder

from ptmscope.replay import HubCorpus, HuggingFaceApp, ReplayServer
from ptmscope.replay.huggingface import is_lfs
from tests.snapshot.modelbytes import benign_pickle, call_pickle, hub_scan, safetensors

SHA = "c" * 40
FILES = {
    "config.json": b'{"model_type": "tiny"}',
    "README.md": b"# tiny\n",
    "weights/model.safetensors": safetensors(),
    "weights/shard/part.bin": call_pickle("os", "system", "id"),
    "tokenizer/vocab.txt": b"a\nb\n",
    "noext": benign_pickle(),
}


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    corpus = HubCorpus()
    corpus.put_repo({"id": "org/tiny", "sha": SHA, "author": "org", "downloads": 5}, FILES,
                    {"weights/shard/part.bin": hub_scan("unsafe", [("os", "system", "dangerous")]),
                     "config.json": hub_scan("safe")})
    with ReplayServer(HuggingFaceApp(corpus, tree_page_size=3, tree_expand_page_size=2)) as running:
        yield running


def api(server: ReplayServer) -> HfApi:
    return HfApi(endpoint=server.url, token=False)


def test_tree_lists_folders_and_files_page_by_page(server: ReplayServer) -> None:
    entries = list(api(server).list_repo_tree("org/tiny", revision=SHA, recursive=True))
    folders = sorted(e.path for e in entries if isinstance(e, RepoFolder))
    files = {e.path: e for e in entries if isinstance(e, RepoFile)}
    assert folders == ["tokenizer", "weights", "weights/shard"]
    assert set(files) == set(FILES)
    assert len([e for e in server.log if "/tree/" in e.target]) == 3  # 9 entries, 3 per page
    for path, data in FILES.items():
        assert files[path].size == len(data)
        if is_lfs(path, data):
            lfs = files[path].lfs
            assert lfs is not None and lfs.sha256 == hashlib.sha256(data).hexdigest()
        else:
            assert files[path].lfs is None
            assert files[path].blob_id == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    # Weights by their suffix, and a pickle without one by its NUL bytes, are in LFS; text is in git.
    assert files["noext"].lfs is not None and files["weights/shard/part.bin"].lfs is not None
    assert files["tokenizer/vocab.txt"].lfs is None

    top = {e.path for e in api(server).list_repo_tree("org/tiny", revision=SHA)}
    assert top == {"config.json", "README.md", "noext", "tokenizer", "weights"}
    inside = {e.path for e in api(server).list_repo_tree("org/tiny", "weights", revision=SHA)}
    assert inside == {"weights/model.safetensors", "weights/shard"}


def test_expanded_tree_carries_the_hubs_scan_and_last_commit(server: ReplayServer) -> None:
    entries = {e.path: e for e in api(server).list_repo_tree("org/tiny", revision=SHA, recursive=True, expand=True)}
    part = entries["weights/shard/part.bin"]
    assert isinstance(part, RepoFile) and part.security is not None
    assert part.security["status"] == "unsafe" and not part.security["safe"]
    assert part.security["pickle_import_scan"]["pickleImports"] == [{"module": "os", "name": "system",
                                                                      "safety": "dangerous"}]
    unscanned = entries["noext"]
    assert isinstance(unscanned, RepoFile) and unscanned.security is not None
    assert unscanned.security["status"] == "unscanned"  # no scan in the corpus: none is invented
    assert part.last_commit is not None and part.last_commit.oid == SHA
    assert len([e for e in server.log if "expand=true" in e.target]) == 5  # 9 entries, 2 per page


def test_model_info_with_security_status(server: ReplayServer) -> None:
    info = api(server).model_info("org/tiny", revision=SHA, securityStatus=True, files_metadata=True)
    assert info.security_repo_status == {"scansDone": False,
                                         "filesWithIssues": [{"path": "weights/shard/part.bin", "level": "unsafe"}]}
    assert {s.rfilename for s in info.siblings or []} == set(FILES)
    plain = api(server).model_info("org/tiny")
    assert plain.security_repo_status is None


def test_missing_revision_folder_and_file(server: ReplayServer, tmp_path: Path) -> None:
    with pytest.raises(RevisionNotFoundError):
        list(api(server).list_repo_tree("org/tiny", revision="d" * 40))
    with pytest.raises(EntryNotFoundError):
        list(api(server).list_repo_tree("org/tiny", "nowhere", revision=SHA))
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("org/tiny", "absent.bin", revision=SHA, endpoint=server.url, token=False,
                        local_dir=tmp_path)


def test_downloads_give_the_headers_huggingface_hub_checks(server: ReplayServer, tmp_path: Path) -> None:
    for path, data in FILES.items():
        local = hf_hub_download("org/tiny", path, revision=SHA, endpoint=server.url, token=False,
                                local_dir=tmp_path / "dl")
        assert Path(local).read_bytes() == data
    data = FILES["weights/shard/part.bin"]
    url = f"{server.url}/org/tiny/resolve/{SHA}/weights/shard/part.bin"
    with httpx2.Client() as client:
        head = client.head(url)
        assert head.headers["X-Repo-Commit"] == SHA
        assert head.headers["X-Linked-Etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
        assert head.headers["X-Linked-Size"] == str(len(data)) == head.headers["Content-Length"]
        part = client.get(url, headers={"Range": "bytes=3-"})
        assert part.status_code == 206 and part.content == data[3:]
        assert part.headers["Content-Range"] == f"bytes 3-{len(data) - 1}/{len(data)}"
        assert client.get(url, headers={"Range": "bytes=-4"}).content == data[-4:]
        assert client.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416
        text = client.head(f"{server.url}/org/tiny/resolve/main/config.json")
        assert "X-Linked-Etag" not in text.headers
        assert text.headers["ETag"].strip('"') == hashlib.sha1(
            b"blob %d\0" % len(FILES["config.json"]) + FILES["config.json"]).hexdigest()
