"""The weight_stats and model_stats field lists are typed in three places: the format
(`metadata.WEIGHT_STATS_FIELDS`, `MODEL_STATS_FIELDS`), the frontend's wire types
(`frontend/src/types.ts`) and the callbacks (`callbacks/measure.DEVICE_FIELDS`, mapped by
name into the record in `callbacks/`). These tests fail when they disagree (issue 14)."""

import os
import re
from types import SimpleNamespace

import numpy as np
import pytest

from tb_prune_plugin import metadata

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TYPES_TS = os.path.join(REPO_ROOT, "frontend", "src", "types.ts")
# Figures the measurer computes for the writer's own use, not record fields.
DEVICE_ONLY = {"histogram_hi"}


def _ts_list(name):
    """The strings of `export const NAME = [...] as const;` in types.ts, in order."""
    with open(TYPES_TS, encoding="utf-8") as f:
        text = f.read()
    found = re.search(r"export const %s = \[(.*?)\] as const;" % name, text, re.S)
    if found is None:
        pytest.fail("frontend/src/types.ts declares no `export const %s = [...] as const`" % name)
    return tuple(re.findall(r'"([^"]*)"', found.group(1)))


def test_frontend_weight_stats_fields_are_the_format_fields():
    assert _ts_list("WEIGHT_STATS_FIELDS") == metadata.WEIGHT_STATS_FIELDS


def test_frontend_model_stats_fields_are_the_format_fields():
    assert _ts_list("MODEL_STATS_FIELDS") == metadata.MODEL_STATS_FIELDS


def test_device_fields_are_weight_stats_fields():
    from tb_prune_plugin.callbacks import measure

    assert set(measure.DEVICE_FIELDS) - DEVICE_ONLY <= set(metadata.WEIGHT_STATS_FIELDS)


def test_callbacks_write_every_weight_stats_field_from_the_device_field_of_its_name():
    """`records._weight_stats` with a row whose every device field holds a distinct number:
    each field copied from the measuring graph comes from the device field of its name, and
    with the churn and non-finite fields (set by `StepRecords.weight_values`) the record has
    exactly the format's fields."""
    from tb_prune_plugin.callbacks import measure, records

    row = 10.0 * np.arange(1, len(measure.DEVICE_FIELDS) + 1)
    stats = records._weight_stats(SimpleNamespace(size=1000), row, 400, 0.5, 1.0)
    written = set(stats) | {"newly_pruned", "regrown", "mask_changed", "nonfinite"}
    assert sorted(written) == sorted(metadata.WEIGHT_STATS_FIELDS)
    derived = {"size", "nonzeros", "sparsity", "target_sparsity", "should_prune", "kept_mean_abs"}
    copied = sorted(set(stats) - derived)
    assert copied, "no weight_stats field is copied from the measuring graph"
    for name in copied:
        assert stats[name] == row[measure.DEVICE_FIELDS.index(name)], name
    assert stats["kept_mean_abs"] == row[measure.DEVICE_FIELDS.index("l1")] / 400
    assert stats["sparsity"] == 0.6
