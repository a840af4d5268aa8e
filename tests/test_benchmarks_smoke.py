"""The benchmarks keep working: `benchmarks/run.py --quick` writes a report with every figure.

Timings are never asserted (machines are noisy and the quick sizes are tiny); only that the one
command runs end to end (real trainings, real TensorBoard processes, a real browser) and that
every figure of docs/performance.md was measured.
"""

import importlib.util
import json
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _report_module():
    """benchmarks/report.py, which names the figures (loaded by path: benchmarks/ is no package;
    its own modules, report_text.py and report_issue10.py, are imported from benchmarks/)."""
    benchmarks = os.path.join(REPO_ROOT, "benchmarks")
    if benchmarks not in sys.path:
        sys.path.append(benchmarks)
    spec = importlib.util.spec_from_file_location(
        "benchmarks_report", os.path.join(REPO_ROOT, "benchmarks", "report.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _summary_rows(text):
    """The figure rows of the summary table (its header and separator left out)."""
    start = text.index("## Every figure beside its target")
    end = text.index("\n## ", start + 1)
    lines = [line for line in text[start:end].splitlines() if line.startswith("| ")]
    return lines[1:]


def _run(*args, timeout=900):
    return subprocess.run(
        [sys.executable, os.path.join("benchmarks", "run.py"), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_quick_benchmarks_report_every_figure(tmp_path):
    out = tmp_path / "performance.md"
    kept = tmp_path / "kept"
    result = _run("--quick", "--out", str(out), "--json-dir", str(kept))
    assert result.returncode == 0, result.stderr[-6000:]
    text = out.read_text()
    assert "(quick mode)" in text
    for label in ("| CPU |", "| cores |", "| memory |", "tensorflow 2.", "tensorboard 2."):
        assert label in text, label
    rows = _summary_rows(text)
    figures = _report_module().FIGURES
    for name in figures:
        matching = [row for row in rows if row.startswith("| %s |" % name)]
        assert len(matching) == 1, (name, rows)
        measured = matching[0].split(" | ")[2]
        assert measured.strip() and "n/a" not in measured, matching[0]
    assert len([row for row in rows if not row.startswith("| 10.")]) == len(figures)
    # Issue 10's rows, one per model and target (tests/test_benchmarks_report.py pins them):
    # each item has rows, and each row a measured figure or says why it has none.
    for item in ("10.1", "10.2", "10.3", "10.4", "10.5"):
        assert any(row.startswith("| %s " % item) for row in rows), item
    for row in (row for row in rows if row.startswith("| 10.")):
        assert row.split(" | ")[2].strip(), row
    assert len([row for row in rows if row.startswith("| 10.3 ")]) == 4
    for section in ("## Delta-coded masks", "## TensorBoard at ResNet-50 size"):
        assert section in text
    assert "### Where one record's time goes" in text
    assert sorted(os.listdir(kept)) == [
        "dashboard.json",
        "disk.json",
        "mask_deltas.json",
        "overhead.json",
        "real_models.json",
        "run.json",
        "scale_run.json",
    ]
    # The real-size section: a record-against-floor row per model, a step-time row per variant.
    real = text[
        text.index("## Recording at real model sizes") : text.index("### Where one record's time")
    ]
    for model in ("keras3_mlp", "tfmot_mlp", "mobilenet_v2", "bert_encoder"):
        assert real.count("\n| %s |" % model) == (1 if "mlp" in model else 3), model

    # Rendered again from the kept JSON, measuring nothing: the very same document.
    again = tmp_path / "again.md"
    result = _run("--from-json", str(kept), "--out", str(again), timeout=120)
    assert result.returncode == 0, result.stderr[-6000:]
    assert again.read_text() == text

    # A stage kept from another run is named in the header, with its commit and date.
    with open(kept / "run.json") as f:
        run = json.load(f)
    run["origins"]["disk"] = dict(run["meta"], commit="abc1234", date="2026-01-02")
    run["origins"]["disk"]["load_start"], run["origins"]["disk"]["load_end"] = 0.5, 0.75
    with open(kept / "run.json", "w") as f:
        json.dump(run, f)
    result = _run("--from-json", str(kept), "--out", str(again), timeout=120)
    assert result.returncode == 0, result.stderr[-6000:]
    note = (
        "The disk stage was not measured again: its figures come from the run of 2026-01-02 at "
        "commit abc1234 (`--from-json`; load average 0.50 to 0.75).\n\n"
    )
    first_table = "| machine | |"
    assert again.read_text() == text.replace(first_table, note + first_table, 1)

    # One of issue 10's stages measured again, the others kept: as the lead re-measures one.
    result = _run("--quick", "--only", "mask_deltas", "--from-json", str(kept), "--out", str(again))
    assert result.returncode == 0, result.stderr[-6000:]
    remeasured = again.read_text()
    for stage in ("overhead", "dashboard", "real_models", "scale_run"):
        assert "The %s stage was not measured again" % stage in remeasured, stage
    assert "The mask_deltas stage was not measured again" not in remeasured
    assert "## Delta-coded masks (issue 10, item 3)" in remeasured


def test_from_json_and_only_reject_what_they_cannot_use(tmp_path):
    result = _run("--from-json", str(tmp_path), "--out", str(tmp_path / "x.md"), timeout=120)
    assert result.returncode == 1
    expected = "--from-json %s: no run.json there; give a directory written by --json-dir"
    assert expected % tmp_path in result.stderr
    result = _run("--only", "dashbord,disk", "--out", str(tmp_path / "x.md"), timeout=120)
    assert result.returncode == 2
    assert (
        "--only dashbord,disk: unknown stage(s) dashbord; the stages are "
        "overhead,disk,dashboard,real_models,mask_deltas,scale_run" in result.stderr
    )
    assert not (tmp_path / "x.md").exists()


def test_quick_needs_out_so_docs_are_not_replaced():
    result = subprocess.run(
        [sys.executable, os.path.join("benchmarks", "run.py"), "--quick"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "--quick needs --out" in result.stderr
