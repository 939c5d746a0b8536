"""A folder's image count gets one code, name and severity from the scan (the wizard's
Dataset step) and from `loratui doctor`: both judge it with the rules' thresholds."""

from __future__ import annotations

import pytest
from PIL import Image

from loratui.dataset import ScanOptions, scan
from loratui.doctor import diagnose_paths, rule_for_dataset_kind
from loratui.doctor.catalog import load_catalog
from loratui.doctor.engine import Options

COUNT_CODES = {"DS101", "DS102", "DS213"}


def _thresholds() -> tuple[int, int]:
    cat = load_catalog()
    return (cat.get("DS101").thresholds["min_images"],
            cat.get("DS102").thresholds["recommended_min"])


def _folder(tmp_path, n: int):
    root = tmp_path / f"set{n}"
    root.mkdir()
    for i in range(n):
        Image.new("RGB", (512, 512), (i % 256, 40, 90)).save(root / f"{i}.png")
        (root / f"{i}.txt").write_text("zq_cat, a cat", encoding="utf-8")
    return root


def _scan_rules(root) -> set[tuple[str, str, str]]:
    report = scan(root, ScanOptions(workers=0))
    rules = (rule_for_dataset_kind(f.kind) for f in report.findings)
    return {r for r in rules if r is not None and r[0] in COUNT_CODES}


def _doctor_rules(root) -> set[tuple[str, str, str]]:
    cat = load_catalog()
    diags = diagnose_paths([str(root)], options=Options(probe_gpu=False))[0]
    return {(d.code, cat.get(d.code).name, d.severity) for d in diags if d.code in COUNT_CODES}


def test_eight_images_are_dataset_tiny_in_the_scan_and_the_doctor(tmp_path) -> None:
    root = _folder(tmp_path, 8)
    assert _scan_rules(root) == _doctor_rules(root) == {("DS101", "dataset-tiny", "warning")}
    kinds = {f.kind: f.severity for f in scan(root, ScanOptions(workers=0)).findings}
    assert kinds.get("very-few-images") == "warning"


@pytest.mark.parametrize("edge", ["tiny", "recommended"])
def test_each_side_of_each_threshold_agrees(tmp_path, edge) -> None:
    tiny, recommended = _thresholds()
    limit = tiny if edge == "tiny" else recommended
    for n in (limit - 1, limit):
        root = _folder(tmp_path, n)
        scanned, doctored = _scan_rules(root), _doctor_rules(root)
        assert scanned == doctored, n
        want = "DS101" if n < tiny else "DS102" if n < recommended else None
        assert {c for c, _, _ in scanned} == ({want} if want else set()), n


def test_an_override_moves_both_sides_alike(tmp_path) -> None:
    """`[doctor] min_images = 5`: 8 images are no longer tiny, in the doctor or the scan."""
    from loratui.dataset.scanner import image_count_limits

    root = _folder(tmp_path, 8)
    limits = image_count_limits({"min_images": 5})
    report = scan(root, ScanOptions(workers=0, **limits))
    assert [f.kind for f in report.findings if f.kind.endswith("few-images")] == ["too-few-images"]
    diags = diagnose_paths([str(root)], options=Options(probe_gpu=False,
                                                        overrides={"min_images": 5}))[0]
    assert {d.code for d in diags if d.code in COUNT_CODES} == {"DS102"}


def test_captions_in_another_extension_are_not_counted_as_captioned(tmp_path) -> None:
    """With `.txt` configured, a `.caption` file is not read by the trainer: the summary
    counts it out of "captioned" and DS106 names it instead."""
    root = tmp_path / "mixed"
    root.mkdir()
    for i in range(4):
        Image.new("RGB", (512, 512), (i, 40, 90)).save(root / f"{i}.png")
    for i in range(2):
        (root / f"{i}.txt").write_text("zq_cat, a cat", encoding="utf-8")
    (root / "2.caption").write_text("zq_cat, a cat", encoding="utf-8")
    report = scan(root, ScanOptions(caption_extension=".txt", workers=0))
    assert report.totals.usable == 4 and report.totals.captioned == 2
    other = report.finding("caption-other-extension")
    assert other is not None and other.paths == ["2.png"]
    # the `.caption` files are the captions when that is the configured extension
    assert scan(root, ScanOptions(caption_extension=".caption", workers=0)).totals.captioned == 1
