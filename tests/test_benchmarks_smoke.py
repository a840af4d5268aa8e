"""The benchmarks keep working: `benchmarks/run.py --quick` writes a report with every figure.

Timings are never asserted (machines are noisy and the quick sizes are tiny); only that the one
command runs end to end (real trainings, real TensorBoard processes, a real browser) and that
every figure of docs/performance.md was measured.
"""

import importlib.util
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _report_module():
    """benchmarks/report.py, which names the figures (loaded by path: benchmarks/ is no package)."""
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


def test_quick_benchmarks_report_every_figure(tmp_path):
    out = tmp_path / "performance.md"
    result = subprocess.run(
        [sys.executable, os.path.join("benchmarks", "run.py"), "--quick", "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
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
    assert len(rows) == len(figures)


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
