"""Deterministic synthetic papers for the emulated paper APIs (OpenReview, arXiv, DBLP).

Real proceedings may not be redistributed, so the paper-source tests and the demo serve papers
generated here. One paper is a plain dict that each emulation renders in its own API's shape:

``key`` (unique), ``title``, ``authors`` ([{``name``, ``affiliation`` (or None), ``email``,
``profile`` (an OpenReview ``~Name1`` id, or None for an author known by e-mail only)}]), ``abstract``,
``venue``, ``year``, ``submitted`` (ISO time of the arXiv submission), ``arxiv_id``, ``doi`` (or None),
``code`` (an explicit code URL, or None), ``abstract_code`` and ``comment_code`` (the code URL the
abstract or the comment mentions, or None), ``comment`` (arXiv comment, or None), ``keywords``,
``categories`` (arXiv), ``status`` (``accepted`` / ``rejected``), ``track`` (``main`` or
``datasets_and_benchmarks``), ``toc`` (the DBLP table of contents, when not the venue's usual
one) and ``expected_countries`` (what the affiliations and e-mails name).

Paper ``i`` of a seed depends on nothing but ``(seed, i)``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

Paper = dict[str, Any]

# (affiliation as written, e-mail domain, country the pair names or None)
AFFILIATIONS: tuple[tuple[str | None, str, str | None], ...] = (
    ("Tsinghua University", "tsinghua.edu.cn", "CN"),
    ("Stanford University, Stanford, CA, USA", "stanford.edu", "US"),
    ("ETH Zurich", "ethz.ch", "CH"),
    ("University of Toronto, Canada", "utoronto.ca", "CA"),
    ("KAIST, Daejeon, Republic of Korea", "kaist.ac.kr", "KR"),
    ("University of Oxford", "ox.ac.uk", "GB"),
    ("Inria Paris", "inria.fr", "FR"),
    ("Google Research", "google.com", None),
    (None, "gmail.com", None),
)
_FIRST = ("Ada", "Alan", "Grace", "Wei", "Yuki", "Priya", "Omar", "Lena", "Jun", "Sofia", "Mateo", "Ines")
_LAST = ("Lovelace", "Turing", "Hopper", "Zhang", "Tanaka", "Sharma", "Haddad", "Novak", "Kim", "Rossi", "Garcia")
_ADJECTIVES = ("Scalable", "Robust", "Sparse", "Efficient", "Provable", "Adaptive", "Contrastive", "Causal")
_NOUNS = ("Transformers", "Diffusion Models", "Graph Networks", "Policy Gradients", "Tokenizers", "Adapters")
_TASKS = ("Long Contexts", "Few-Shot Learning", "Image Synthesis", "Molecular Design", "Code Generation")
_KEYWORDS = ("deep learning", "representation learning", "generative models", "reinforcement learning",
             "large language models", "computer vision", "optimization")
_CATEGORIES = ("cs.LG", "cs.AI", "cs.CV", "cs.CL", "stat.ML")


def _author(rng: random.Random, index: int) -> tuple[dict[str, Any], str | None]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    affiliation, domain, country = rng.choice(AFFILIATIONS)
    with_profile = rng.random() < 0.7
    author = {"name": f"{first} {last}", "affiliation": affiliation,
              "email": f"{first[0].lower()}{last.lower()}{index}@{domain}",
              "profile": f"~{first}_{last}{index % 3 + 1}" if with_profile else None}
    return author, country


def generate_paper(i: int, *, venue: str = "ICLR", year: int = 2024, seed: int = 0) -> Paper:
    rng = random.Random(f"{seed}:{venue}:{year}:{i}")
    authors, countries = [], []
    for j in range(rng.randint(1, 4)):
        author, country = _author(rng, i * 10 + j)
        authors.append(author)
        if country is not None and country not in countries:
            countries.append(country)
    submitted = datetime(year, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(365 * 24 * 60))
    owner, repo = rng.choice(_LAST).lower(), f"paper-{i}"
    code_style = rng.random()
    url = f"https://github.com/{owner}/{repo}"
    code = url if code_style < 0.3 else None
    in_abstract = 0.3 <= code_style < 0.5
    in_comment = 0.5 <= code_style < 0.7
    abstract = (f"We study {rng.choice(_KEYWORDS)} at scale and propose a method that improves on "
                f"prior work.{f' Code is available at {url}.' if in_abstract else ''}")
    return {
        "key": f"{venue.lower()}{year}-{i:05d}",
        "title": f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} for {rng.choice(_TASKS)} ({i})",
        "authors": authors,
        "abstract": abstract,
        "venue": venue,
        "year": year,
        "submitted": submitted.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "arxiv_id": f"{submitted:%y%m}.{i % 100000:05d}",
        "doi": f"10.5555/ptmscope.{venue.lower()}.{year}.{i}" if rng.random() < 0.5 else None,
        "code": code,
        "abstract_code": url if in_abstract else None,
        "comment_code": url if in_comment else None,
        "comment": (f"Accepted at {venue} {year}. Code: {url}" if in_comment
                    else f"{rng.randint(8, 30)} pages" if rng.random() < 0.5 else None),
        "keywords": rng.sample(_KEYWORDS, 2),
        "categories": rng.sample(_CATEGORIES, 2),
        "status": "rejected" if rng.random() < 0.15 else "accepted",
        "track": "datasets_and_benchmarks" if venue == "NeurIPS" and rng.random() < 0.2 else "main",
        "expected_countries": countries,
    }


def generate_papers(n: int, *, venue: str = "ICLR", year: int = 2024, seed: int = 0) -> list[Paper]:
    return [generate_paper(i, venue=venue, year=year, seed=seed) for i in range(n)]
