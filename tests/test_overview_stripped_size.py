"""The stripped size in the Overview: /overview's run entries carry the last stripped_size record
(issue 13), and the model-wide table shows it formatted; a run without the record shows a dash.

The recorded run is the session's `tfmot_poly_run` (TF-MOT, PruningMonitor with its default
`stripped_size=True`); the run without the record is written with the format's own writer
(`tests/logdir_builder.py`), as logs of a training that did not measure it.
"""

import os
import shutil

import pytest

from tb_prune_plugin import reader, summary
from tests import browser, route_bodies
from tests import logdir_builder as lb

expect, browser_mark = browser.browser_test_module()

PREFIX = "/data/plugin/pruning"
MISSING = "\u2014"


def _without_stripped_size(run_dir):
    """A run with a model_stats record and no stripped_size record."""
    with lb.RunWriter(run_dir) as w:
        w.add(3, [summary.weight_stats("fc/kernel", lb.stats(size=8, nonzeros=4, sparsity=0.5))])
        w.add(3, [summary.model_stats(lb.model_stats(global_sparsity=0.5, dense_bytes=32.0))])


@pytest.fixture(scope="module")
def logdir(tfmot_poly_run, tmp_path_factory):
    """`poly` (copied: the session fixture's directory is shared) and `unmeasured`."""
    root = tmp_path_factory.mktemp("overview_stripped")
    source = os.path.join(tfmot_poly_run.logdir, tfmot_poly_run.run)
    shutil.copytree(source, root / "poly", symlinks=True)
    _without_stripped_size(root / "unmeasured")
    return root


def _expected_entry(logdir, run):
    """The reader's last stripped_size record of `run` as /overview sends it."""
    series = reader.load(str(logdir)).runs[run].stripped_size
    assert len(series.steps) == 1
    return {
        "step": int(series.steps[-1]),
        "saved_bytes": float(series.fields["saved_bytes"][-1]),
        "gzip_bytes": float(series.fields["gzip_bytes"][-1]),
    }


def test_overview_run_entry_has_the_recorded_stripped_size(logdir, tfmot_poly_run):
    client, _ = route_bodies.tensorboard_client(logdir)
    body = client.get(PREFIX + "/overview").get_json()
    runs = {r["run"]: r for r in body["runs"]}
    assert sorted(runs) == ["poly", "unmeasured"]
    expected = _expected_entry(logdir, "poly")
    assert runs["poly"]["stripped_size"] == expected
    assert expected["step"] == tfmot_poly_run.final_step
    assert 0 < expected["gzip_bytes"] < expected["saved_bytes"]
    # Absent, not null: a run without the record keeps the body it had before the record.
    assert "stripped_size" not in runs["unmeasured"]
    assert sorted(runs["unmeasured"]) == sorted(runs["poly"].keys() - {"stripped_size"})
    # Asked for alone, the same entry.
    alone = client.get(PREFIX + "/overview?run=poly").get_json()
    assert alone["runs"] == [runs["poly"]]


def _format_bytes(value):
    """`formatBytes` of frontend/src/transforms/format.ts."""
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    u = 0
    while abs(value) >= 1024 and u < len(units) - 1:
        value /= 1024
        u += 1
    return "%d B" % value if u == 0 else "%.1f %s" % (value, units[u])


@browser_mark
def test_overview_table_shows_the_stripped_sizes_and_a_dash_without(logdir):
    expected = _expected_entry(logdir, "poly")
    with browser.TensorBoardProcess(logdir) as tensorboard:
        tensorboard.wait_for_runs(["poly", "unmeasured"])
        with browser.pruning_tab(tensorboard.url) as (_, frame, errors):
            browser.open_view(frame, expect, "overview")
            row = frame.locator("[data-testid=overview-run-row][data-run=poly]")
            cell = row.locator("td", has=frame.locator("[data-testid=stripped-gzip_bytes]"))
            expect(cell.locator("[data-testid=stripped-gzip_bytes]")).to_have_text(
                _format_bytes(expected["gzip_bytes"])
            )
            expect(cell.locator("[data-testid=stripped-saved_bytes]")).to_have_text(
                _format_bytes(expected["saved_bytes"])
            )
            expect(cell).to_have_text(
                "%s%s saved"
                % (_format_bytes(expected["gzip_bytes"]), _format_bytes(expected["saved_bytes"]))
            )
            for field in ("gzip_bytes", "saved_bytes"):
                expect(row.locator("[data-testid=stripped-%s]" % field)).to_have_attribute(
                    "title",
                    "{:,} bytes, measured at step {:,}".format(
                        int(expected[field]), expected["step"]
                    ),
                )
            other = frame.locator("[data-testid=overview-run-row][data-run=unmeasured]")
            gzip_part = frame.locator("[data-testid=stripped-gzip_bytes]")
            expect(other.locator("td", has=gzip_part)).to_have_text(MISSING)
            expect(other.locator("[data-testid=stripped-saved_bytes]")).to_have_count(0)
            assert errors.messages == []
