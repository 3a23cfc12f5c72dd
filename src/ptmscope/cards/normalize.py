"""Small value normalisers shared by the extractor and the evaluation: numbers, parameter counts,
license spellings, arXiv ids, DOIs and model ids."""

from __future__ import annotations

import math
import re
from typing import Any

_NUMBER = re.compile(r"[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LEADING_NUMBER = re.compile(r"\s*([-+−]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+−]?\.\d+)")

_SCALE = {
    "k": 1e3, "thousand": 1e3,
    "m": 1e6, "mn": 1e6, "mil": 1e6, "million": 1e6, "millions": 1e6,
    "b": 1e9, "bn": 1e9, "billion": 1e9, "billions": 1e9, "g": 1e9,
    "t": 1e12, "trillion": 1e12,
}
_COUNT = re.compile(
    r"^\s*~?\s*(?P<num>\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?)\s*(?P<unit>k|thousand|m|mn|mil|millions?|b|bn|billions?"
    r"|t|trillion)?\b",
    re.IGNORECASE,
)


def parse_number(value: Any) -> float | None:
    """The leading number of a value: ``92.3``, ``"92.3%"``, ``"235.82 +/- 34.79"`` → 235.82; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(float(value)) else None
    if not isinstance(value, str):
        return None
    match = _LEADING_NUMBER.match(value)
    if match is None:
        return None
    text = match.group(1).replace(",", "").replace("−", "-")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_count(value: Any) -> int | None:
    """A parameter count: ``110M`` → 110000000, ``"1.3 billion"``, ``"6,053,381,344"``, ``7e9``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return round(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    match = _COUNT.match(value)
    if match is None:
        number = parse_number(value)
        return round(number) if number is not None and number == number // 1 else None
    num = float(match.group("num").replace(",", ""))
    unit = (match.group("unit") or "").lower()
    return round(num * _SCALE.get(unit, 1.0))


def same_number(a: Any, b: Any) -> bool:
    """Equal as numbers (``2e-05`` == ``0.00002``), allowing for float spelling."""
    x, y = parse_number(a), parse_number(b)
    if x is None or y is None:
        return False
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)


# Spellings seen in cards -> the Hub's lower-case license id, the form labels and `cards extract` use.
# SPDX normalisation proper is ptmscope.licenses.normalize (used by the evaluation where present).
LICENSE_ALIASES: dict[str, str] = {
    "apache 2.0": "apache-2.0", "apache 2": "apache-2.0", "apache-2": "apache-2.0", "apache2": "apache-2.0",
    "apache license 2.0": "apache-2.0", "apache license, version 2.0": "apache-2.0",
    "apache license version 2.0": "apache-2.0", "apache-2.0 license": "apache-2.0", "apache": "apache-2.0",
    "apache license": "apache-2.0", "apache 2.0 license": "apache-2.0", "apache software license 2.0": "apache-2.0",
    "mit license": "mit", "the mit license": "mit", "mit": "mit",
    "bsd": "bsd", "bsd 3-clause": "bsd-3-clause", "bsd-3": "bsd-3-clause", "bsd 3 clause": "bsd-3-clause",
    "bsd-3-clause license": "bsd-3-clause", "bsd 2-clause": "bsd-2-clause",
    "gpl-3": "gpl-3.0", "gpl3": "gpl-3.0", "gplv3": "gpl-3.0", "gpl v3": "gpl-3.0", "gnu gpl v3": "gpl-3.0",
    "gpl-3.0-only": "gpl-3.0", "gpl-2.0-only": "gpl-2.0", "gplv2": "gpl-2.0", "gpl-2": "gpl-2.0",
    "agpl-3.0-only": "agpl-3.0", "agplv3": "agpl-3.0", "lgpl-3.0-only": "lgpl-3.0", "lgpl-2.1-only": "lgpl-2.1",
    "cc by 4.0": "cc-by-4.0", "cc-by 4.0": "cc-by-4.0", "cc by-4.0": "cc-by-4.0", "creative commons attribution 4.0":
    "cc-by-4.0", "cc by-sa 4.0": "cc-by-sa-4.0", "cc by-sa 3.0": "cc-by-sa-3.0", "cc by-nc 4.0": "cc-by-nc-4.0",
    "cc by-nc-sa 4.0": "cc-by-nc-sa-4.0", "cc by-nc-nd 4.0": "cc-by-nc-nd-4.0", "cc by-nd 4.0": "cc-by-nd-4.0",
    "cc0": "cc0-1.0", "cc0 1.0": "cc0-1.0", "cc-0": "cc0-1.0",
    "openrail-m": "openrail", "creativeml openrail-m": "creativeml-openrail-m", "creativeml-openrail-m license":
    "creativeml-openrail-m", "llama 2": "llama2", "llama 2 community license": "llama2", "llama-2": "llama2",
    "llama 3": "llama3", "llama 3 community license": "llama3", "llama-3": "llama3", "llama 3.1": "llama3.1",
    "unlicense": "unlicense", "the unlicense": "unlicense", "wtfpl": "wtfpl", "isc license": "isc",
    "mpl 2.0": "mpl-2.0", "mozilla public license 2.0": "mpl-2.0", "eclipse public license 2.0": "epl-2.0",
    "artistic 2.0": "artistic-2.0", "afl 3.0": "afl-3.0",
}


def license_key(value: Any) -> str | None:
    """The comparable form of a license: lower case, single spaces, then the alias table
    (``Apache 2.0`` / ``apache-2.0`` / ``Apache-2.0`` → ``apache-2.0``)."""
    if value is None:
        return None
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else ",".join(str(v) for v in value)
    text = " ".join(str(value).strip().lower().split())
    if not text:
        return None
    text = text.removesuffix(".")
    if text in LICENSE_ALIASES:
        return LICENSE_ALIASES[text]
    dashed = text.replace(" ", "-")
    if dashed in LICENSE_ALIASES:
        return LICENSE_ALIASES[dashed]
    return dashed


_ARXIV_NEW = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?![\d])")
_ARXIV_OLD = re.compile(r"\b([a-z][a-z.-]+/\d{7})(?:v\d+)?\b", re.IGNORECASE)


def arxiv_id(value: str) -> str | None:
    """``1810.04805v2`` / ``arXiv:1810.04805`` / ``https://arxiv.org/abs/1810.04805`` → ``1810.04805``."""
    match = _ARXIV_NEW.search(value)
    if match:
        return match.group(1)
    match = _ARXIV_OLD.search(value)
    return match.group(1).lower() if match else None


def paper_key(value: Any) -> str:
    """arXiv ids without version; DOIs as ``doi:10.x/y`` lower case; other values lower case."""
    text = str(value).strip()
    low = text.lower()
    doi = re.search(r"10\.\d{4,9}/\S+", low)
    if doi and (low.startswith("doi:") or "doi.org/" in low or "arxiv" not in low):
        return "doi:" + doi.group(0).rstrip(".,;)")
    found = arxiv_id(text)
    return found if found else low


def model_key(value: Any) -> str:
    """A model id compared case-insensitively, without a ``https://huggingface.co/`` prefix."""
    text = str(value).strip().lower()
    text = re.sub(r"^https?://(?:www\.)?huggingface\.co/", "", text).strip("/")
    return " ".join(text.split())


def model_name_part(value: Any) -> str:
    """The name part of ``org/name`` (the whole id when it has no org)."""
    return model_key(value).rsplit("/", 1)[-1]


def text_key(value: Any) -> str:
    """Lower case with runs of whitespace as one space and outer punctuation trimmed."""
    return " ".join(str(value).lower().split()).strip(" .,:;*_`\"'")
