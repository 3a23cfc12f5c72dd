"""GitHub repository references in text: exact normalisation, rejection of non-repositories, speed."""

from __future__ import annotations

import time

import pytest

from ptmscope.link.urls import (
    CONFIDENCE_BARE,
    CONFIDENCE_EMBEDDED,
    CONFIDENCE_PAGES,
    CONFIDENCE_URL,
    REASON_GIST,
    REASON_INVALID,
    REASON_OWNER_ONLY,
    REASON_PAGES_SITE,
    REASON_RESERVED,
    REASON_SHORT_LINK,
    distinct,
    find,
    find_repos,
    parse_repo,
)


def names(text: str) -> list[str]:
    return [ref.full_name for ref in find_repos(text)]


@pytest.mark.parametrize(("text", "expected"), [
    # spellings of the same URL
    ("https://github.com/owner/repo", ["owner/repo"]),
    ("http://github.com/owner/repo", ["owner/repo"]),
    ("github.com/owner/repo", ["owner/repo"]),
    ("www.github.com/owner/repo", ["owner/repo"]),
    ("https://www.github.com/owner/repo", ["owner/repo"]),
    ("HTTPS://GitHub.com/Owner/Repo", ["Owner/Repo"]),
    ("https://github.com/owner/repo/", ["owner/repo"]),
    ("https://github.com/owner/repo.git", ["owner/repo"]),
    ("https://github.com/owner/repo.GIT", ["owner/repo"]),
    ("git@github.com:owner/repo.git", ["owner/repo"]),
    ("ssh://git@github.com/owner/repo.git", ["owner/repo"]),
    ("git://github.com/owner/repo.git", ["owner/repo"]),
    ("pip install git+https://github.com/owner/repo.git@v1.2#egg=repo", ["owner/repo"]),
    # deeper pages of a repository
    ("https://github.com/tensorflow/models/tree/master/research/efficient-hrl", ["tensorflow/models"]),
    ("https://github.com/owner/repo/blob/main/README.md#usage", ["owner/repo"]),
    ("https://github.com/owner/repo/issues/12", ["owner/repo"]),
    ("https://github.com/owner/repo/pulls", ["owner/repo"]),
    ("https://github.com/owner/repo/pull/7/files", ["owner/repo"]),
    ("https://github.com/owner/repo/releases/tag/v1", ["owner/repo"]),
    ("https://github.com/owner/repo/wiki/Home", ["owner/repo"]),
    ("https://github.com/owner/repo/raw/main/logo.svg", ["owner/repo"]),
    ("https://github.com/owner/repo#readme", ["owner/repo"]),
    ("https://github.com/owner/repo?tab=readme-ov-file", ["owner/repo"]),
    ("https://github.com/owner/repo.git/", ["owner/repo"]),
    # names GitHub allows
    ("https://github.com/KaiyuYue/cgnl-network.pytorch", ["KaiyuYue/cgnl-network.pytorch"]),
    ("https://github.com/owner/.github", ["owner/.github"]),
    ("https://github.com/owner/repo_name-2.0", ["owner/repo_name-2.0"]),
    ("https://github.com/PetarV-/GAT", ["PetarV-/GAT"]),  # a pre-2013 account ending in a hyphen
    ("https://github.com/CLeARoboticsLab/LearningWithSimpleModels.jl", ["CLeARoboticsLab/LearningWithSimpleModels.jl"]),
    # prose and markup around it
    ("see github.com/owner/repo.", ["owner/repo"]),
    ("see github.com/owner/repo...", ["owner/repo"]),
    ("(github.com/owner/repo)", ["owner/repo"]),
    ("code: https://github.com/owner/repo, data: elsewhere", ["owner/repo"]),
    ("<https://github.com/owner/repo>", ["owner/repo"]),
    ("[code](https://github.com/owner/repo)", ["owner/repo"]),
    ("[owner/repo](https://github.com/owner/repo/tree/dev)!", ["owner/repo"]),
    ("**https://github.com/owner/repo**", ["owner/repo"]),
    ('<a href="https://github.com/owner/repo">code</a>', ["owner/repo"]),
    ("`git clone https://github.com/owner/repo`", ["owner/repo"]),
    ("'https://github.com/owner/repo'", ["owner/repo"]),
    ("[![github](/images/github_icon.svg) NLPrinceton/text_embedding](https://github.com/NLPrinceton/text_embedding)"
     " + [![Papers with Code](/images/pwc_icon.svg) 1 community implementation]"
     "(https://paperswithcode.com/paper/?openreview=B1e5ef-C-)", ["NLPrinceton/text_embedding"]),
    ("[![Papers with Code](/images/pwc_icon.svg) 2 community implementations]"
     "(https://paperswithcode.com/paper/?openreview=BJypUGZ0Z)", []),
    ("[![Stars](https://img.shields.io/github/stars/owner/repo)](https://github.com/owner/repo)", ["owner/repo"]),
    # lists
    ("https://github.com/a/one;https://github.com/b/two", ["a/one", "b/two"]),
    ("https://github.com/a/one; https://github.com/b/two", ["a/one", "b/two"]),
    ("https://github.com/a/one,https://github.com/b/two", ["a/one", "b/two"]),
    ("https://github.com/a/one https://github.com/b/two\nhttps://github.com/cc/three", ["a/one", "b/two", "cc/three"]),
    ("https://github.com/p/main (implementation: https://github.com/p/impl)", ["p/main", "p/impl"]),
    # services that carry a repository path
    ("https://raw.githubusercontent.com/wietsedv/bertje/master/bertje.png", ["wietsedv/bertje"]),
    ("https://media.githubusercontent.com/media/owner/repo/main/weights.bin", ["owner/repo"]),
    ("https://codeload.github.com/owner/repo/zip/refs/heads/main", ["owner/repo"]),
    ("https://api.github.com/repos/owner/repo/releases", ["owner/repo"]),
    ("https://colab.research.google.com/github/nateraw/huggingpics/blob/main/HuggingPics.ipynb",
     ["nateraw/huggingpics"]),
    ("https://nbviewer.jupyter.org/github/owner/repo/blob/main/demo.ipynb", ["owner/repo"]),
    ("https://nbviewer.org/github/owner/repo/blob/main/demo.ipynb", ["owner/repo"]),
    # GitHub Pages project sites
    ("https://ybsong00.github.io/nips18_tracking/index", ["ybsong00/nips18_tracking"]),
    ("stanfordnlp.github.io/stanza", ["stanfordnlp/stanza"]),
    # not GitHub at all, or not a repository
    ("https://huggingface.co/owner/repo/blob/main/README.md", []),
    ("https://huggingface.co/spaces/github/repo", []),
    ("https://gitlab.com/owner/repo", []),
    ("https://notgithub.com/owner/repo", []),
    ("https://github.community/t/topic/1", []),
    ("https://docs.github.com/en/repositories", []),
    ("https://user-images.githubusercontent.com/9592150/97142000.png", []),
    ("https://avatars.githubusercontent.com/u/1?v=4", []),
    ("mail support@github.com about it", []),
    ("the GitHub repository: see below", []),
    ("github.com: the home page", []),
    ("https://github.com", []),
    ("https://github.com/", []),
])
def test_repositories_found(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("github.com/GAMES-UChile", REASON_OWNER_ONLY),
    ("https://github.com/DLR-RM", REASON_OWNER_ONLY),
    ("https://github.com/DLR-RM/", REASON_OWNER_ONLY),
    ("https://github.com/someone?tab=repositories", REASON_OWNER_ONLY),
    ("https://github.com/orgs/huggingface/people", REASON_RESERVED),
    ("https://github.com/settings/tokens", REASON_RESERVED),
    ("https://github.com/features/actions", REASON_RESERVED),
    ("https://github.com/topics/nlp", REASON_RESERVED),
    ("https://github.com/marketplace/actions/checkout", REASON_RESERVED),
    ("https://github.com/sponsors/someone", REASON_RESERVED),
    ("https://github.com/collections/machine-learning", REASON_RESERVED),
    ("https://github.com/login?return_to=x", REASON_RESERVED),
    ("https://github.com/about/careers", REASON_RESERVED),
    ("https://github.com/apps/dependabot", REASON_RESERVED),
    ("https://github.com/users/someone/projects/1", REASON_RESERVED),
    ("https://github.com/Search?q=bert", REASON_RESERVED),
    ("https://github.com/trending/python", REASON_RESERVED),
    ("https://gist.github.com/chrisliu298/ccb8144888eace069da64ad3e6472d64", REASON_GIST),
    ("https://gist.githubusercontent.com/u/abc/raw/file.py", REASON_GIST),
    ("https://git.io/fjsvE", REASON_SHORT_LINK),
    ("keypointnet.github.io", REASON_PAGES_SITE),
    ("https://cpmcorl2023.github.io/", REASON_PAGES_SITE),
    ("https://joeddav.github.io/index.html", REASON_PAGES_SITE),
    ("https://github.com/-owner/repo", REASON_INVALID),
    ("https://github.com/under_score/repo", REASON_INVALID),
    ("https://github.com/a.b/repo", REASON_INVALID),
    (f"https://github.com/{'o' * 40}/repo", REASON_INVALID),
    ("https://github.com/owner/..", REASON_INVALID),
    ("https://github.com/owner/.git", REASON_INVALID),
    (f"https://github.com/owner/{'r' * 101}", REASON_INVALID),
])
def test_non_repositories_rejected_with_reason(text: str, reason: str) -> None:
    found = find(text)
    assert found.refs == ()
    assert [r.reason for r in found.rejected] == [reason]
    assert found.rejected[0].unresolvable == (reason == REASON_SHORT_LINK)


def test_offsets_url_and_confidence() -> None:
    text = "Code at [here](https://github.com/Org/Repo/tree/main). Pages: https://org.github.io/site/ and " \
           "git@github.com:x/y.git; raw https://raw.githubusercontent.com/a/b/main/c.png"
    refs = find_repos(text)
    assert [(r.full_name, r.confidence) for r in refs] == [
        ("Org/Repo", CONFIDENCE_URL), ("org/site", CONFIDENCE_PAGES), ("x/y", CONFIDENCE_URL),
        ("a/b", CONFIDENCE_EMBEDDED)]
    assert [text[r.start:r.end] for r in refs] == [r.url for r in refs]
    assert [r.url for r in refs] == ["https://github.com/Org/Repo/tree/main", "https://org.github.io/site/",
                                     "git@github.com:x/y.git", "https://raw.githubusercontent.com/a/b/main/c.png"]
    assert refs[0].key == "org/repo"
    assert refs[0].canonical_url == "https://github.com/Org/Repo"


def test_identity_is_case_insensitive_and_first_spelling_wins() -> None:
    refs = find_repos("https://github.com/Org/Repo then github.com/org/repo then github.com/ORG/REPO.git")
    assert len(refs) == 3
    assert {r.key for r in refs} == {"org/repo"}
    assert [r.full_name for r in distinct(refs)] == ["Org/Repo"]


@pytest.mark.parametrize(("value", "expected"), [
    ("pytorch/vision", "pytorch/vision"),
    ("NVIDIA/DeepLearningExamples:torchhub", "NVIDIA/DeepLearningExamples"),
    (" owner/repo.git/ ", "owner/repo"),
    ("https://github.com/owner/repo", "owner/repo"),
    ("owner", None),
    ("owner/repo/extra", None),
    ("orgs/repo", None),
    ("meta llama/x", None),
])
def test_parse_repo_bare(value: str, expected: str | None) -> None:
    ref = parse_repo(value, bare=True)
    assert (ref.full_name if ref else None) == expected
    if ref is not None and "://" not in value:
        assert ref.confidence == CONFIDENCE_BARE


def test_parse_repo_needs_a_url_unless_bare() -> None:
    assert parse_repo("pytorch/vision") is None
    ref = parse_repo("see https://github.com/a/b and https://github.com/c/d")
    assert ref is not None and ref.full_name == "a/b"


def test_no_repository_in_text_without_git() -> None:
    assert find("") == find("plain text, nothing to see") == find("https://huggingface.co/bert-base-uncased")
    assert find("").refs == () and find("").rejected == ()


def test_large_text_is_fast() -> None:
    # 4 MB of card-like prose with a link every ~2 kB: a regex pass, not a per-character loop.
    chunk = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 35
             + "See [code](https://github.com/owner/repo-{i}/tree/main) and github-flavoured tables.\n")
    text = "".join(chunk.replace("{i}", str(i)) for i in range(2000))
    started = time.perf_counter()
    refs = find_repos(text)
    elapsed = time.perf_counter() - started
    assert len(refs) == 2000
    assert refs[-1].full_name == "owner/repo-1999"
    assert elapsed < 1.0, f"{elapsed:.2f}s for {len(text) / 1e6:.1f} MB"
