"""License strings to SPDX: every real spelling in the fixtures, the Hub's documented ids, prose and lists."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import license_expression as le
import pytest
import yaml

from ptmscope.licenses.normalize import (
    OTHER,
    is_valid_expression,
    license_refs,
    normalize_license,
    spdx_family,
)
from tests.conftest import shared_path

SPDX = le.get_spdx_licensing()
LICENSE_REF = re.compile(r"^LicenseRef-[A-Za-z0-9.\-]+$")
# Values that carry no license information; everything else must come out as a license.
UNKNOWN_LIKE = {"unknown", "noassertion", "none", ""}


def assert_valid_spdx(expr: str) -> None:
    """Checked with license-expression itself: SPDX ids it knows, or LicenseRef ids of the SPDX grammar."""
    parsed = SPDX.parse(expr)
    assert parsed is not None, expr
    for symbol in SPDX.license_symbols(parsed, decompose=True):
        key = symbol.key
        if LICENSE_REF.match(key):
            continue
        assert key in SPDX.known_symbols, (expr, key)


def _walk_json(node: Any) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("license", "license_name") and isinstance(value, str | list):
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str):
                        yield key, item
            elif key == "license" and isinstance(value, dict):  # a GitHub license object
                for field in ("key", "name", "spdx_id"):
                    if isinstance(value.get(field), str):
                        yield f"github.{field}", value[field]
            if key == "tags" and isinstance(value, list):
                yield from (("tag", t[len("license:"):]) for t in value
                            if isinstance(t, str) and t.startswith("license:"))
            yield from _walk_json(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_json(item)


def _front_matter(text: str) -> dict[str, Any] | None:
    match = re.match(r"\s*---\r?\n(.*?)\r?\n---", text, re.DOTALL)
    if not match:
        return None
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def fixture_license_strings() -> list[tuple[str, str]]:
    """(where, value) for every license string in the Hub, card and GitHub fixtures."""
    found: list[tuple[str, str]] = []
    for folder in ("hf_api", "github_api"):
        for path in sorted(shared_path("fixtures", folder).rglob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            found.extend((f"{path.name}:{k}", v) for k, v in _walk_json(data))
            if folder == "github_api" and path.name == "licenses_list.json":
                found.extend((f"{path.name}:github.{f}", item[f]) for item in data for f in ("key", "name", "spdx_id"))
    cards = shared_path("fixtures", "model_cards")
    manifest = json.loads((cards / "_manifest.json").read_text(encoding="utf-8"))
    for entry in manifest:
        declared = entry.get("card_declared_license")
        for value in declared if isinstance(declared, list) else [declared]:
            if isinstance(value, str):
                found.append((f"_manifest:{entry['file']}", value))
    for folder in ("model_cards", "model_cards_edge"):
        for path in sorted(shared_path("fixtures", folder).glob("*.md")):
            meta = _front_matter(path.read_text(encoding="utf-8", errors="replace"))
            if not meta:
                continue
            values = meta.get("license")
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, str):
                    found.append((f"{path.name}:license", value))
            if meta.get("license") == "other" and isinstance(meta.get("license_name"), str):
                found.append((f"{path.name}:other", f"other:{meta['license_name']}"))
    return found


@pytest.mark.shared
def test_every_fixture_license_string_normalises() -> None:
    strings = fixture_license_strings()
    assert len(strings) > 150  # the fixtures hold a few hundred; fewer means the walk broke
    distinct = sorted({value for _, value in strings})
    results = {}
    for value in distinct:
        spdx = normalize_license(value)
        results[value] = spdx
        if value.strip().lower() in UNKNOWN_LIKE:
            assert spdx is None, value
            continue
        assert spdx is not None, value
        assert_valid_spdx(spdx)
        assert is_valid_expression(spdx)
    print(f"\n{len(strings)} license strings in the fixtures, {len(distinct)} distinct, all normalised: "
          f"{sum(v is not None for v in results.values())} to SPDX/LicenseRef, "
          f"{sum(v is None for v in results.values())} to None")
    # The Hub's OpenRAIL/Llama/Gemma ids and GitHub's deprecated GPL ids land where this module says.
    expected = {"creativeml-openrail-m": "LicenseRef-creativeml-openrail-m", "openrail++": "LicenseRef-openrail-pp",
                "llama3.1": "LicenseRef-llama3.1", "gemma": "LicenseRef-gemma", "LGPL-3.0": "LGPL-3.0-only",
                "NOASSERTION": None, "Other": OTHER, "PUBLIC DOMAIN NOTICE": "LicenseRef-scancode-public-domain",
                "GNU Lesser General Public License v3.0": "LGPL-3.0-only", "other:deepseek": "LicenseRef-deepseek",
                "other:nvidia-open-model-license": "LicenseRef-nvidia-open-model"}
    for value, spdx in expected.items():
        if value in results:
            assert results[value] == spdx, value
    assert {"creativeml-openrail-m", "LGPL-3.0", "NOASSERTION"} <= set(results)


# Every license id the Hugging Face Hub documents for the `license:` card field.
HUB_IDS = [
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m", "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd", "bsd-2-clause", "bsd-3-clause",
    "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0",
    "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0",
    "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0", "epl-2.0",
    "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl", "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1",
    "lgpl-3.0", "isc", "h-research", "intel-research", "lppl-1.3c", "ms-pl", "apple-ascl", "apple-amlr", "mpl-2.0",
    "odc-by", "odbl", "openmdw-1.0", "openrail++", "osl-3.0", "postgresql", "ofl-1.1", "ncsa", "unlicense", "zlib",
    "pddl", "lgpl-lr", "deepfloyd-if-license", "fair-noncommercial-research-license", "llama2", "llama3", "llama3.1",
    "llama3.2", "llama3.3", "llama4", "grok2-community", "gemma",
]


def test_every_documented_hub_id_is_identified() -> None:
    for hub_id in HUB_IDS:
        spdx = normalize_license(hub_id)
        assert spdx is not None and spdx != OTHER, hub_id
        assert_valid_spdx(spdx)
    assert normalize_license("other") == OTHER
    assert normalize_license("unknown") is None


@pytest.mark.parametrize(("raw", "spdx"), [
    ("apache-2.0", "Apache-2.0"),
    ("Apache License 2.0", "Apache-2.0"),
    ("Apache License, Version 2.0", "Apache-2.0"),
    ("Apache 2.0", "Apache-2.0"),
    ("apache2", "Apache-2.0"),
    ("MIT License", "MIT"),
    ("  mit  ", "MIT"),
    ("GPLv3", "GPL-3.0-only"),
    ("gpl-3.0", "GPL-3.0-only"),
    ("GPL-2.0 or later", "GPL-2.0-or-later"),
    ("gpl-2.0+", "GPL-2.0-or-later"),
    ("GNU Affero General Public License v3.0", "AGPL-3.0-only"),
    ('BSD 3-Clause "New" or "Revised" License', "BSD-3-Clause"),
    ('BSD 2-Clause "Simplified" License', "BSD-2-Clause"),
    ("The Unlicense", "Unlicense"),
    ("Creative Commons Zero v1.0 Universal", "CC0-1.0"),
    ("CC BY-NC 4.0", "CC-BY-NC-4.0"),
    ("Creative Commons Attribution Share Alike 4.0 International", "CC-BY-SA-4.0"),
    ("apache-2.0 OR mit", "Apache-2.0 OR MIT"),
    ("Apache License 2.0 or MIT License", "Apache-2.0 OR MIT"),
    ("MIT/Apache-2.0", "MIT OR Apache-2.0"),
    ("apache-2.0, mit", "Apache-2.0 AND MIT"),
    ("['mit', 'cc-by-4.0']", "MIT AND CC-BY-4.0"),
    ("mit, unknown", "MIT"),
    ("gpl-2.0 with classpath-exception-2.0", "GPL-2.0-only WITH Classpath-exception-2.0"),
    ("llama3", "LicenseRef-llama3"),
    ("Llama 2 Community License", "LicenseRef-llama2"),
    ("openrail", "LicenseRef-openrail"),
    ("bigscience-bloom-rail-1.0", "LicenseRef-bigscience-bloom-rail-1.0"),
    ("llama3.1 OR apache-2.0", "LicenseRef-llama3.1 OR Apache-2.0"),
    ("other:deepseek", "LicenseRef-deepseek"),
    ("other:some-lab-license", OTHER),
    ("bsd-new", "BSD-3-Clause"),  # ScanCode keys, as PeaTMOSS's GitHub data has them
    ("gpl-3.0-plus", "GPL-3.0-or-later"),
    ("LicenseRef-scancode-llama-2-license-2023", "LicenseRef-llama2"),
    ("see the LICENSE file in this repository", OTHER),
    ("Permission is hereby granted, free of charge, to any person " * 20, OTHER),
    ("NOASSERTION", None),
    ("unknown", None),
    ("", None),
    (None, None),
])
def test_spellings(raw: str | None, spdx: str | None) -> None:
    assert normalize_license(raw) == spdx
    if spdx is not None:
        assert_valid_spdx(spdx)


def test_normalising_is_idempotent() -> None:
    for hub_id in [*HUB_IDS, "other", "apache-2.0 OR mit", "apache-2.0, gpl-3.0"]:
        once = normalize_license(hub_id)
        assert once is not None
        assert normalize_license(once) == once, hub_id


@pytest.mark.parametrize(("expr", "family"), [
    ("MIT", "permissive"),
    ("Unlicense", "permissive"),
    ("CC-BY-4.0", "permissive"),
    ("GPL-3.0-only", "copyleft"),
    ("LGPL-2.1-only", "weak-copyleft"),
    ("CC-BY-SA-4.0", "weak-copyleft"),
    ("CC-BY-NC-SA-4.0", "non-commercial"),
    ("LicenseRef-creativeml-openrail-m", "ml-restricted"),
    ("LicenseRef-llama3.1", "ml-restricted"),
    ("LicenseRef-gemma", "ml-restricted"),
    ("LicenseRef-other", "other"),
    ("MIT OR GPL-3.0-only", "permissive"),  # a choice: the freer option
    ("MIT AND CC-BY-NC-4.0", "non-commercial"),  # all at once: the strictest
    (None, "unknown"),
    ("not an expression ((", "unknown"),
])
def test_spdx_family(expr: str | None, family: str) -> None:
    assert spdx_family(expr) == family


def test_alias_file_targets_exist() -> None:
    """Every SPDX target of aliases.toml is an id license-expression knows; every ScanCode key it names exists."""
    import ptmscope.licenses as package

    table = tomllib.loads((Path(package.__file__).parent / "aliases.toml").read_text(encoding="utf-8"))
    for target in table["spdx"]:
        assert_valid_spdx(target)
        if not target.startswith("LicenseRef-"):
            assert not SPDX.validate(target).errors, target
    scancode = {e["license_key"] for e in le.get_license_index()}
    for ref_id, entry in table["refs"].items():
        assert ref_id in license_refs()
        for key in entry.get("scancode", ()):
            assert key in scancode, (ref_id, key)
