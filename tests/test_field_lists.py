"""The weight_stats and model_stats field lists are typed in three places: the format
(`metadata.WEIGHT_STATS_FIELDS`, `MODEL_STATS_FIELDS`), the frontend's wire types
(`frontend/src/types.ts`) and the callbacks (`callbacks/measure.DEVICE_FIELDS`, mapped by
name into the record in `callbacks/`). These tests fail when they disagree (issue 14)."""

import ast
import os
import re

import pytest

from tb_prune_plugin import metadata

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TYPES_TS = os.path.join(REPO_ROOT, "frontend", "src", "types.ts")
CALLBACKS = os.path.join(REPO_ROOT, "callbacks")
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


def _callbacks_trees():
    for name in sorted(os.listdir(CALLBACKS)):
        if name.endswith(".py"):
            path = os.path.join(CALLBACKS, name)
            with open(path, encoding="utf-8") as f:
                yield name, ast.parse(f.read(), path)


def _weight_stats_dicts():
    """(file, {key: value node}) of every dict literal in callbacks/ that builds a
    weight_stats record (one holding the keys "nonzeros" and "mask_changed")."""
    for name, tree in _callbacks_trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
                if "nonzeros" in keys and "mask_changed" in keys:
                    yield name, dict(zip(keys, node.values))


def _device_field_of(value):
    """X of a value `row[_FIELD_INDEX["X"]]` (or `...[DEVICE_FIELDS.index("X")]`), else None."""
    for node in ast.walk(value):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            if isinstance(node.value, ast.Name) and "FIELD" in node.value.id:
                return node.slice.value
    return None


def test_frontend_weight_stats_fields_are_the_format_fields():
    assert _ts_list("WEIGHT_STATS_FIELDS") == metadata.WEIGHT_STATS_FIELDS


def test_frontend_model_stats_fields_are_the_format_fields():
    assert _ts_list("MODEL_STATS_FIELDS") == metadata.MODEL_STATS_FIELDS


def test_device_fields_are_weight_stats_fields():
    from tb_prune_plugin.callbacks import measure

    assert set(measure.DEVICE_FIELDS) - DEVICE_ONLY <= set(metadata.WEIGHT_STATS_FIELDS)


def test_callbacks_write_every_weight_stats_field_from_the_device_field_of_its_name():
    from tb_prune_plugin.callbacks import measure

    dicts = list(_weight_stats_dicts())
    assert dicts, "no dict literal building a weight_stats record found in callbacks/"
    for name, fields in dicts:
        assert tuple(sorted(fields)) == tuple(sorted(metadata.WEIGHT_STATS_FIELDS)), name
        for key, value in fields.items():
            device = _device_field_of(value)
            if device is None or key == "kept_mean_abs":  # l1 / nonzeros, by design
                continue
            assert device == key, "%s: field %r is written from device field %r" % (
                name,
                key,
                device,
            )
            assert device in measure.DEVICE_FIELDS, name
