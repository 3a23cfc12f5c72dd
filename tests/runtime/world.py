"""A small world for `ptmscope run`: a replayed Hub (generated models plus the named models the demo
projects load), a replayed GitHub that a search finds the projects on, and the projects as local git
repositories (one with a family of forks). ``advance()`` moves it on a month."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ptmscope.demo.corpus import add_flagships, commit, load_projects, write_project
from ptmscope.demo.licenses import license_text
from ptmscope.replay import HubCorpus, HuggingFaceApp, ReplayServer
from ptmscope.replay.corpus import synthetic_hub
from ptmscope.replay.github import GitHubApp, GitHubCorpus, synthetic_repo
from ptmscope.replay.synth import generate_model, record_rng

SEED = 11
MODELS = 120
NEW_MODELS = 7


@dataclass
class World:
    hub: HubCorpus
    github: GitHubCorpus
    remotes: Path
    hub_url: str = ""
    github_url: str = ""

    def plan(self, path: Path, *, scanners: str = '["bandit"]', dask: str | None = None) -> Path:
        """A run plan over this world: every stage, the cheap scanner, snapshots of the models the code loads."""
        runtime = f'[runtime]\nworkers = 2\n{f"dask = {dask!r}" if dask else ""}\n'
        path.write_text(f'''
[huggingface]
endpoint = "{self.hub_url}"
files = true
[pytorch_hub]
enabled = false
[github]
api = "{self.github_url}"
orgs = ["acme-vision"]
forks = true
searches = ["huggingface"]
[snapshot]
enabled = true
min_downloads = 0
used = true
[scan]
scanners = {scanners}
{runtime}''', encoding="utf-8")
        return path

    def advance(self) -> None:
        """A month later: new models on the Hub, a project gets a commit, and a new fork appears."""
        for index in range(MODELS, MODELS + NEW_MODELS):
            record = generate_model(index, record_rng(SEED, index))
            record["lastModified"] = record["createdAt"] = "2026-11-01T00:00:00.000Z"
            self.hub.put_model(record)
        commit(self.remotes / "acme-ml" / "review-sentiment", "pin the model",
               {"train.py": 'from transformers import AutoModel\n\n'
                            'model = AutoModel.from_pretrained("google-bert/bert-base-cased", revision="a1b2c3d")\n'})
        parent = self.github.repo("acme-vision/tinynets")
        assert parent is not None
        parent = {**parent, "forks_count": parent["forks_count"] + 1, "forks": parent["forks"] + 1}
        self.github.put_repo(parent)
        fork = synthetic_repo("dave-ai/tinynets", 740_000_099, datetime(2026, 10, 1, tzinfo=UTC), parent=parent,
                              description="A fork of tinynets for huggingface models")
        self.github.put_repo(fork)
        _clone(self.remotes / "acme-vision" / "tinynets", self.remotes / "dave-ai" / "tinynets")


def _clone(source: Path, target: Path) -> None:
    import subprocess

    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(source), str(target)], check=True, capture_output=True)


def build(root: Path) -> World:
    hub = synthetic_hub(MODELS, SEED)
    add_flagships(hub, random.Random(SEED))
    github = GitHubCorpus()
    remotes = root / "remotes"
    for index, project in enumerate(load_projects()):
        created = datetime(2023, 1, 1 + index, tzinfo=UTC)
        record = synthetic_repo(project.name, 740_000_000 + index * 10, created,
                                organization=project.name.startswith("acme-vision/"),
                                description=f"{project.description} (huggingface)",
                                license={"key": project.license.lower(), "spdx_id": project.license,
                                         "name": project.license},
                                forks_count=len(project.forks), forks=len(project.forks))
        github.put_repo(record)
        for number, fork in enumerate(project.forks, start=1):
            github.put_repo(synthetic_repo(fork, 740_000_000 + index * 10 + number, created, parent=record,
                                           description="fork (huggingface)"))
        write_project(remotes, project, license_text)
    return World(hub, github, remotes)


@contextmanager
def serving(world: World) -> Iterator[World]:
    with ReplayServer(HuggingFaceApp(world.hub)) as hub_server, ReplayServer(GitHubApp(world.github)) as gh_server:
        world.hub_url, world.github_url = hub_server.url, gh_server.url
        yield world
