"""License detection in checkouts, on license texts written by the tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ptmscope.licenses.detect import MIN_SCORE, candidate_files, detect_repository_license, identify_text
from tests.licenses.texts import BSD_3_CLAUSE, CUSTOM, ISC, MIT

COMMON_LICENSES = Path("/usr/share/common-licenses")  # Debian's base-files: the full GPL family texts


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.mark.parametrize(("text", "spdx"), [(MIT, "MIT"), (BSD_3_CLAUSE, "BSD-3-Clause"), (ISC, "ISC")])
def test_standard_texts_are_matched(text: str, spdx: str) -> None:
    found, confidence, method = identify_text(text)
    assert (found, method) == (spdx, "askalono")
    assert confidence >= MIN_SCORE


def test_a_spdx_tag_or_a_bare_name_is_read_before_matching() -> None:
    assert identify_text("# SPDX-License-Identifier: Apache-2.0 OR MIT\n") == ("Apache-2.0 OR MIT", 1.0, "spdx-tag")
    assert identify_text("Apache License 2.0\n") == ("Apache-2.0", 0.9, "name")


def test_text_that_is_no_standard_license_is_unrecognised() -> None:
    found, confidence, method = identify_text(CUSTOM)
    assert (found, method) == (None, "unrecognised")
    assert confidence < MIN_SCORE


def test_single_license_file(tmp_path: Path) -> None:
    root = write(tmp_path, {"LICENSE.txt": MIT, "README.md": "# project\n", "src/LICENSE": BSD_3_CLAUSE})
    detected = detect_repository_license(root)
    assert detected is not None
    assert (detected.spdx, detected.file, detected.method) == ("MIT", "LICENSE.txt", "askalono")


def test_several_license_files_are_all_in_force(tmp_path: Path) -> None:
    root = write(tmp_path, {"LICENCE": MIT, "COPYING.txt": "SPDX-License-Identifier: ISC\n"})
    detected = detect_repository_license(root)
    assert detected is not None
    assert (detected.spdx, detected.file) == ("ISC AND MIT", "COPYING.txt, LICENCE")


def test_licenses_folder_when_no_top_level_file_names_one(tmp_path: Path) -> None:
    reuse = write(tmp_path / "reuse", {"LICENSES/MIT.txt": MIT, "LICENSES/BSD-3-Clause.txt": BSD_3_CLAUSE})
    detected = detect_repository_license(reuse)
    assert detected is not None
    assert (detected.spdx, detected.file) == ("BSD-3-Clause AND MIT", "LICENSES/BSD-3-Clause.txt, LICENSES/MIT.txt")
    vendored = write(tmp_path / "vendored", {"LICENSE": MIT, "licenses/zlib.txt": BSD_3_CLAUSE})
    detected = detect_repository_license(vendored)
    assert detected is not None and detected.spdx == "MIT"


def test_an_unidentified_license_file_is_other(tmp_path: Path) -> None:
    detected = detect_repository_license(write(tmp_path, {"COPYING.md": CUSTOM}))
    assert detected is not None
    assert (detected.spdx, detected.method) == ("LicenseRef-other", "unrecognised")


def test_no_license_file_is_none(tmp_path: Path) -> None:
    assert detect_repository_license(write(tmp_path, {"README.md": "MIT licensed, see below\n"})) is None


def test_links_binaries_and_huge_files_are_not_read(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"secret.txt": MIT})
    root = tmp_path / "repo"
    write(root, {"LICENSE.bin": b"\x7fELF\0\0\0" + b"x" * 100, "COPYING": "x" * (600 * 1024)})
    os.symlink(outside / "secret.txt", root / "LICENSE")
    assert [p.name for p in candidate_files(root)] == ["LICENSE.bin"]
    assert detect_repository_license(root) is None


@pytest.mark.skipif(not (COMMON_LICENSES / "LGPL-3").exists(), reason="needs Debian's /usr/share/common-licenses")
def test_lgpl_project_shipping_the_gpl_text_is_lgpl(tmp_path: Path) -> None:
    """LGPL v3 projects ship COPYING (the GPL) and COPYING.LESSER; the license of the project is the LGPL."""
    root = write(tmp_path, {"COPYING": (COMMON_LICENSES / "GPL-3").read_text(),
                            "COPYING.LESSER": (COMMON_LICENSES / "LGPL-3").read_text()})
    detected = detect_repository_license(root)
    assert detected is not None
    assert (detected.spdx, detected.file) == ("LGPL-3.0-only", "COPYING.LESSER")


@pytest.mark.skipif(not (COMMON_LICENSES / "Apache-2.0").exists(), reason="needs Debian's /usr/share/common-licenses")
def test_long_texts(tmp_path: Path) -> None:
    for name, spdx in (("Apache-2.0", "Apache-2.0"), ("GPL-2", "GPL-2.0-only"), ("MPL-2.0", "MPL-2.0")):
        root = write(tmp_path / name, {"LICENSE": (COMMON_LICENSES / name).read_text()})
        detected = detect_repository_license(root)
        assert detected is not None and detected.spdx == spdx, name
