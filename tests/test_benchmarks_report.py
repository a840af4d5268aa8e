"""docs/performance.md is rendered from the stages' results and benchmarks/templates/: the same
document, byte for byte, as the string-building report.py rendered before (issue 14).

tests/fixtures/benchmark_run_quick/ is a run kept with `python benchmarks/run.py --quick
--json-dir DIR` (the stages' JSON and run.json); the `expected*.md` beside it were rendered from it
by report.py before it was restructured (commit 6f65e35's report.py and real_models.render). The
variants reach the branches a quick run does not: a stage kept from an earlier run, a frontend
scenario that failed, a third memory row, no one-pass floor, stages left out.
"""

import copy
import json
import os

from tests.test_benchmarks_smoke import _report_module

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(REPO_ROOT, "tests", "fixtures", "benchmark_run_quick")
STAGES = ("overhead", "disk", "dashboard", "real_models")


def kept_run():
    """(results, machine, meta) of the kept quick run."""
    results = {}
    for stage in STAGES:
        with open(os.path.join(FIXTURE, stage + ".json")) as f:
            results[stage] = json.load(f)
    with open(os.path.join(FIXTURE, "run.json")) as f:
        run = json.load(f)
    return results, run["machine"], run["meta"]


def variant(results, meta):
    """(results, kept_stages) with the branches a quick run does not reach."""
    results = copy.deepcopy(results)
    dash = results["dashboard"]
    frontend = dash["frontend"]
    frontend["open_tensorboard_at_pruning_then_click_schedules"] = {
        "error": "no overview table after 120 s"
    }
    del frontend["open_schedules_directly_network"]
    dash["memory"]["without plugin, every sample kept"] = dash["memory"]["without plugin"]
    del results["overhead"]["groups"]["tfmot_mlp"]["one_pass_floor_ms"]
    results["real_models"]["monitor_default_every_n_steps"] = 1
    kept = {"disk": dict(meta, commit="abc1234", date="2026-01-02", load_start=0.5)}
    return results, kept


def _expected(name):
    with open(os.path.join(FIXTURE, name), encoding="utf-8") as f:
        return f.read()


def test_report_renders_the_kept_quick_run_as_before():
    results, machine, meta = kept_run()
    text = _report_module().render(results, machine, meta)
    assert text == _expected("expected.md")


def test_report_renders_a_kept_stage_and_failed_scenarios_as_before():
    results, machine, meta = kept_run()
    results, kept_stages = variant(results, meta)
    text = _report_module().render(results, machine, meta, kept_stages)
    assert "The disk stage was not measured again" in text
    assert "no overview table after 120 s" in text
    assert text == _expected("expected_variant.md")


def test_report_renders_a_run_of_some_stages_as_before():
    results, machine, meta = kept_run()
    partial = {s: results[s] for s in ("dashboard", "real_models")}
    text = _report_module().render(partial, machine, meta)
    assert "## 1. Recording overhead" not in text and "## 4. Frontend" in text
    assert text == _expected("expected_partial.md")
