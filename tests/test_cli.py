"""`tb-prune summary` and `tb-prune export` on real log directories, read back by the reader."""

import csv
import io
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from benchmarks.fixtures import logdir_builder as builder
from tb_prune_plugin import reader, summary
from tb_prune_plugin.cli import main
from tb_prune_plugin.cli import summary as summary_cmd

LONG_WEIGHT = "encoder/" + "block_%d/" * 12 % tuple(range(12)) + "attention_output_dense/kernel"

# The summary table of `demo_logdir` (%s: the long weight path, abbreviated).
EXPECTED_TABLE = """\
weight                                  step    shape  params  nonzeros  sparsity  target  threshold
alpha
  dense/bias                              30        2       2         2    0.0000       -          -
  dense/kernel                            30      3x2       6         3    0.5000  0.5000        0.2
beta/manual
  conv/kernel                              5  1x2x2x3      12         8    0.3333       -          -
late
  d/kernel                                 0      2x2       4         4    0.0000       -          -
long
%s     3        -       9         3    0.6667       -          -

Model (prunable weights; sizes of all weights; stripped: saved, gzipped at end):
run    step  global sparsity  params  nonzeros  dense  sparse  stripped gz
alpha    30           0.3750       8         5   40 B    30 B            -
late      5           0.5000       4         2   24 B    17 B      1.2 KiB

Long names are abbreviated in the middle (...); --format csv gives them whole.
"""


@pytest.fixture(scope="module")
def demo_logdir(tmp_path_factory):
    """The reader tests' two-run directory, plus run "late" whose only mask is at step 5
    (stats from step 0; model_stats and stripped_size at step 5) and run "long" with a weight
    path of 136 characters."""
    root = tmp_path_factory.mktemp("cli_demo")
    builder.write_demo_logdir(str(root))
    with builder.RunWriter(root / "late") as w:
        w.add(0, [summary.weight_stats("d/kernel", builder.stats(size=4, nonzeros=4, sparsity=0))])
        w.add(
            5,
            [
                summary.mask("d/kernel", np.array([[1, 0], [0, 1]], dtype=bool)),
                summary.model_stats(
                    builder.model_stats(
                        global_sparsity=0.5,
                        prunable_size=4,
                        prunable_nonzeros=2,
                        model_size=6,
                        model_nonzeros=4,
                        dense_bytes=24,
                        sparse_bytes=17,
                    )
                ),
                summary.stripped_size({"saved_bytes": 5000, "gzip_bytes": 1234}),
            ],
        )
    with builder.RunWriter(root / "long") as w:
        w.add(
            3,
            [summary.weight_stats(LONG_WEIGHT, builder.stats(size=9, nonzeros=3, sparsity=2 / 3))],
        )
    return str(root)


def run_cli(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_summary_csv_exact_rows(demo_logdir, capsys):
    status, out, err = run_cli(
        capsys, "summary", demo_logdir, "--run", "^(alpha|beta)", "--format", "csv"
    )
    assert status == 0
    assert out == (
        "run,weight,step,shape,parameters,nonzeros,sparsity,target_sparsity,threshold,"
        "dense_bytes,sparse_bytes,stripped_gzip_bytes\n"
        "alpha,dense/bias,30,2,2,2,0.0,,,,,\n"
        "alpha,dense/kernel,30,3x2,6,3,0.5,0.5,0.2,,,\n"
        "alpha,(model),30,,8,5,0.375,,,40,30,\n"
        "beta/manual,conv/kernel,5,1x2x2x3,12,8,0.33333333333333337,,,,,\n"
    )
    assert "reading %s" % demo_logdir in err


def test_summary_json_equals_reader(demo_logdir, capsys):
    status, out, _ = run_cli(capsys, "summary", demo_logdir, "--format", "json")
    assert status == 0
    rows = json.loads(out)
    assert all(list(row) == list(summary_cmd.COLUMNS) for row in rows)
    exp = reader.load(demo_logdir)
    weight_rows = [r for r in rows if r["weight"] != summary_cmd.MODEL_ROW]
    assert [(r["run"], r["weight"]) for r in weight_rows] == [
        ("alpha", "dense/bias"),
        ("alpha", "dense/kernel"),
        ("beta/manual", "conv/kernel"),
        ("late", "d/kernel"),
        ("long", LONG_WEIGHT),
    ]
    for row in weight_rows:
        w = exp.runs[row["run"]].weights[row["weight"]]
        assert row["step"] == w.steps[-1]
        for column, field in [("parameters", "size"), ("nonzeros", "nonzeros")]:
            assert row[column] == w.fields[field][-1]
        for column in ("sparsity", "target_sparsity", "threshold"):
            value = w.fields[column][-1]
            assert row[column] == (None if math.isnan(value) else value)
    model = exp.runs["alpha"].model
    assert [r for r in rows if r["weight"] == summary_cmd.MODEL_ROW] == [
        {
            "run": "alpha",
            "weight": "(model)",
            "step": 30,
            "shape": None,
            "parameters": 8,
            "nonzeros": 5,
            "sparsity": model.fields["global_sparsity"][-1],
            "target_sparsity": None,
            "threshold": None,
            "dense_bytes": 40,
            "sparse_bytes": 30,
            "stripped_gzip_bytes": None,
        },
        {
            "run": "late",
            "weight": "(model)",
            "step": 5,
            "shape": None,
            "parameters": 4,
            "nonzeros": 2,
            "sparsity": 0.5,
            "target_sparsity": None,
            "threshold": None,
            "dense_bytes": 24,
            "sparse_bytes": 17,
            "stripped_gzip_bytes": 1234,
        },
    ]
    assert exp.runs["late"].stripped_size.fields["gzip_bytes"].tolist() == [1234.0]


def test_summary_table_fits_100_columns_and_says_it_abbreviated(demo_logdir, capsys):
    status, out, _ = run_cli(capsys, "summary", demo_logdir)
    assert status == 0
    assert max(len(line) for line in out.splitlines()) <= 100
    long_cell = summary_cmd.abbreviate("  " + LONG_WEIGHT, 38)
    assert long_cell == "  encoder/block_0...utput_dense/kernel"
    assert out == EXPECTED_TABLE % long_cell


def test_summary_abbreviate_keeps_both_ends():
    assert summary_cmd.abbreviate("abcdefghij", 7) == "ab...ij"
    assert summary_cmd.abbreviate("abc", 7) == "abc"


def test_export_default_step_equals_reader_masks(demo_logdir, tmp_path, capsys):
    out_file = str(tmp_path / "m.npz")
    status, _, err = run_cli(capsys, "export", demo_logdir, "--run", "alpha", "-o", out_file)
    assert status == 0
    assert "wrote 2 masks of run 'alpha' at step 30" in err
    exp = reader.load(demo_logdir)
    with np.load(out_file) as saved:
        assert sorted(saved.files) == ["dense/bias", "dense/kernel"]
        assert saved["dense/kernel"].dtype == bool
        np.testing.assert_array_equal(
            saved["dense/kernel"], exp.runs["alpha"].weights["dense/kernel"].masks[20]
        )
        np.testing.assert_array_equal(saved["dense/kernel"], builder.ALPHA_MASKS[20])
        np.testing.assert_array_equal(saved["dense/bias"], np.ones([2], dtype=bool))


def test_export_step_between_records_gives_mask_in_force(demo_logdir, tmp_path, capsys):
    out_file = str(tmp_path / "m.npz")
    status, _, _ = run_cli(
        capsys, "export", demo_logdir, "--run", "beta/manual", "--step", "4", "-o", out_file
    )
    assert status == 0
    with np.load(out_file) as saved:
        assert saved.files == ["conv/kernel"]
        np.testing.assert_array_equal(saved["conv/kernel"], builder.BETA_MASKS[0])
    run_cli(capsys, "export", demo_logdir, "--run", "alpha", "--step", "15", "-o", out_file)
    with np.load(out_file) as saved:
        np.testing.assert_array_equal(saved["dense/kernel"], builder.ALPHA_MASKS[10])


def test_export_step_before_first_mask_lists_mask_steps(demo_logdir, tmp_path, capsys):
    out_file = tmp_path / "m.npz"
    status, _, err = run_cli(
        capsys, "export", demo_logdir, "--run", "late", "--step", "3", "-o", str(out_file)
    )
    assert status == 2
    assert err.splitlines()[-2:] == [
        "tb-prune export: error: no mask of run 'late' is in force at step 3: the first is "
        "recorded later. Steps with a recorded mask, per weight:",
        "  d/kernel: 5",
    ]
    assert not out_file.exists()


def test_export_unknown_run_lists_runs(demo_logdir, tmp_path, capsys):
    status, _, err = run_cli(
        capsys, "export", demo_logdir, "--run", "gamma", "-o", str(tmp_path / "m.npz")
    )
    assert status == 2
    assert err.splitlines()[-1] == (
        "tb-prune export: error: no run 'gamma' with pruning data in %r; runs: alpha, "
        "beta/manual, late, long" % demo_logdir
    )


def test_export_run_without_masks(demo_logdir, tmp_path, capsys):
    status, _, err = run_cli(
        capsys, "export", demo_logdir, "--run", "long", "-o", str(tmp_path / "m.npz")
    )
    assert status == 2
    assert err.splitlines()[-1] == (
        "tb-prune export: error: run 'long' has no recorded masks; its weights: %s" % LONG_WEIGHT
    )


def test_missing_logdir_exits_2_naming_it(tmp_path, capsys):
    missing = str(tmp_path / "nope")
    status, out, err = run_cli(capsys, "summary", missing)
    assert (status, out) == (2, "")
    assert err == (
        "tb-prune summary: error: log directory %r does not exist; pass the directory you give "
        "to `tensorboard --logdir` (the parent of each PruningMonitor log_dir)\n" % missing
    )


def test_empty_logdir_exits_2_naming_it(tmp_path, capsys):
    status, _, err = run_cli(capsys, "summary", str(tmp_path))
    assert status == 2
    assert err == (
        "tb-prune summary: error: log directory %r holds no TensorBoard event files "
        "(*tfevents*); train with PruningMonitor(log_dir=...) under it first, or pass the right "
        "directory\n" % str(tmp_path)
    )


def test_logdir_without_pruning_runs_exits_2(tmp_path, capsys):
    with builder.RunWriter(tmp_path / "plain") as w:
        w.add(0, [summary.scalar("loss", 1.0)])
    status, _, err = run_cli(capsys, "summary", str(tmp_path), "--format", "json")
    assert status == 2
    assert err.splitlines()[-1] == (
        "tb-prune summary: error: log directory %r holds event files but no pruning runs; "
        "record a training with tb_prune_plugin.callbacks.PruningMonitor, or pass the directory "
        "it wrote to" % str(tmp_path)
    )


def test_run_regex_errors(demo_logdir, capsys):
    status, _, err = run_cli(capsys, "summary", demo_logdir, "--run", "x(")
    assert status == 2
    assert err == (
        "tb-prune summary: error: --run 'x(' is not a regular expression (missing ), "
        "unterminated subpattern at position 1)\n"
    )
    status, _, err = run_cli(capsys, "summary", demo_logdir, "--run", "^gamma")
    assert status == 2
    assert err.splitlines()[-1] == (
        "tb-prune summary: error: --run '^gamma' matches no run in %r; runs: alpha, "
        "beta/manual, late, long" % demo_logdir
    )


def test_bad_step_is_a_usage_error(demo_logdir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", demo_logdir, "--run", "alpha", "--step", "-3", "-o", "m.npz"])
    assert exit_info.value.code == 2
    assert "argument --step: must be an integer step >= 0, got '-3'" in capsys.readouterr().err


def test_console_script_does_not_import_tensorflow(demo_logdir):
    code = (
        "import sys\n"
        "sys.argv = ['tb-prune', 'summary', %r, '--format', 'csv']\n"
        "from tb_prune_plugin.cli import console_main\n"
        "try:\n"
        "    console_main()\n"
        "finally:\n"
        "    print('tensorflow' in sys.modules, file=sys.stderr)\n" % demo_logdir
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == "False"
    assert next(csv.reader(io.StringIO(done.stdout))) == list(summary_cmd.COLUMNS)
    assert os.path.isdir(demo_logdir)


def test_summary_and_export_on_a_tfmot_training(tfmot_poly_run, tmp_path, capsys):
    status, out, _ = run_cli(capsys, "summary", tfmot_poly_run.logdir, "--format", "json")
    assert status == 0
    rows = json.loads(out)
    exp = reader.load(tfmot_poly_run.logdir)
    run = exp.runs[tfmot_poly_run.run]
    assert [r["weight"] for r in rows] == sorted(run.weights) + ["(model)"]
    for row in rows[:-1]:
        w = run.weights[row["weight"]]
        assert row["step"] == w.steps[-1] == tfmot_poly_run.final_step
        assert row["shape"] == list(w.masks[max(w.masks)].shape)
        assert (row["parameters"], row["nonzeros"]) == (
            w.fields["size"][-1],
            w.fields["nonzeros"][-1],
        )
        assert row["sparsity"] == w.fields["sparsity"][-1]
        assert row["target_sparsity"] == w.fields["target_sparsity"][-1]
        assert row["threshold"] == w.fields["threshold"][-1]
    assert rows[-1]["sparsity"] == run.model.fields["global_sparsity"][-1]
    assert rows[-1]["dense_bytes"] == run.model.fields["dense_bytes"][-1]
    out_file = str(tmp_path / "masks.npz")
    status, _, _ = run_cli(
        capsys,
        "export",
        tfmot_poly_run.logdir,
        "--run",
        tfmot_poly_run.run,
        "--step",
        "7",
        "-o",
        out_file,
    )
    assert status == 0
    with np.load(out_file) as saved:
        assert sorted(saved.files) == sorted(run.weights)
        for name, w in run.weights.items():
            in_force = max(s for s in w.masks if s <= 7)
            np.testing.assert_array_equal(saved[name], w.masks[in_force])
