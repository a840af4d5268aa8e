"""Mask convergence (reader/convergence.py, GET /mask_convergence): the distance of each
recorded mask from the last one and the early-bird step, against distances computed here from
the masks `reader.load` decodes, over real TF-MOT trainings (delta-coded masks) and written
log directories."""

import json
import time

import numpy as np
import pytest
from tensorboard import context

from tb_prune_plugin import reader, summary
from tb_prune_plugin.reader import convergence
from tests import logdir_builder as lb
from tests import route_bodies

PREFIX = "/data/plugin/pruning"
WEIGHTS = ("hidden/kernel", "logits/kernel")


def _expected(masks, limit=0.01):
    """(steps, differing, fractions, early bird step) computed from {step: bool mask}."""
    steps = sorted(masks)
    last = masks[steps[-1]]
    differing = [int(np.count_nonzero(masks[s] != last)) for s in steps]
    fractions = [d / last.size for d in differing]
    early = steps[-1]
    for step, fraction in zip(reversed(steps), reversed(fractions)):
        if fraction >= limit:
            break
        early = step
    return steps, differing, fractions, early


def _client(logdir):
    return route_bodies.tensorboard_client(logdir)[0]


def _get(client, url, status=200):
    response = client.get(PREFIX + url)
    assert response.status_code == status, response.get_data(as_text=True)
    return json.loads(response.get_data(as_text=True))


def test_convergence_of_tfmot_runs_is_the_distance_to_the_last_loaded_mask(tfmot_pair_logdir):
    loaded = reader.load(tfmot_pair_logdir)
    client = _client(tfmot_pair_logdir)
    for weight in WEIGHTS:
        body = _get(client, "/mask_convergence?weight=%s&run=poly&run=seeded" % weight)
        assert body["weight"] == weight and body["limit"] == 0.01 and body["missing"] == []
        assert [s["run"] for s in body["series"]] == ["poly", "seeded"]
        for series in body["series"]:
            masks = loaded.runs[series["run"]].weights[weight].masks
            steps, differing, fractions, early = _expected(masks)
            last = masks[steps[-1]]
            assert series == {
                "run": series["run"],
                "shape": list(last.shape),
                "size": last.size,
                "steps": steps,
                "differing": differing,
                "fraction": fractions,
                "early_bird_step": early,
                "unreadable": 0,
            }
            # Pruning happened: the curve starts far from the final mask, ends at 0.
            assert differing[0] > 0 and differing[-1] == 0


def _reader(logdir):
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer

    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        tensor_size_guidance={reader.PLUGIN_NAME: 0}
    )
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    return reader.PruningReader(provider), multiplexer


def _flip(mask, count, offset=0):
    out = mask.copy().reshape(-1)
    out[offset : offset + count] = ~out[offset : offset + count]
    return out.reshape(mask.shape)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Run `settles` ([100, 100] mask: 10,000 entries; a keyframe, then deltas) whose
    distance dips under 1% at step 1, goes back above it at step 2 and stays under from step
    3; run `resized`, whose weight changed shape before its last record; run `plain` with no
    mask."""
    logdir = tmp_path_factory.mktemp("convergence")
    final = np.random.default_rng(3).random([100, 100]) < 0.3
    with lb.RunWriter(logdir / "settles") as w:
        previous = None
        for step, flipped in ((0, 3000), (1, 99), (2, 100), (3, 99), (4, 1), (5, 0)):
            mask = _flip(final, flipped)
            if previous is None:  # a keyframe, then deltas (format version 2)
                w.add(step, [summary.mask("d/kernel", mask)])
            else:
                w.add(step, [summary.mask_delta("d/kernel", previous, mask, step - 1, 0)])
            previous = mask
    with lb.RunWriter(logdir / "resized") as w:
        w.add(0, [summary.mask("d/kernel", np.ones([2, 3], bool))])
        w.add(1, [summary.mask("d/kernel", np.array([True, False, True, True]))])
        w.add(2, [summary.mask("d/kernel", np.array([True, True, True, True]))])
    with lb.RunWriter(logdir / "plain") as w:
        w.add(0, [summary.weight_stats("d/kernel", lb.stats(size=4))])
    return logdir


def test_early_bird_is_the_first_step_from_which_it_stays_under_one_percent(written):
    body = _get(_client(written), "/mask_convergence?weight=d/kernel&run=settles")
    assert body == {
        "weight": "d/kernel",
        "limit": 0.01,
        "series": [
            {
                "run": "settles",
                "shape": [100, 100],
                "size": 10000,
                "steps": [0, 1, 2, 3, 4, 5],
                "differing": [3000, 99, 100, 99, 1, 0],
                "fraction": [0.3, 0.0099, 0.01, 0.0099, 0.0001, 0.0],
                "early_bird_step": 3,
                "unreadable": 0,
            }
        ],
        "missing": [],
    }


def test_convergence_of_another_shape_is_null_and_the_early_bird_after_it(written):
    body = _get(_client(written), "/mask_convergence?weight=d/kernel&run=resized&run=plain&run=x")
    assert body["series"] == [
        {
            "run": "resized",
            "shape": [4],
            "size": 4,
            "steps": [0, 1, 2],
            "differing": [None, 1, 0],
            "fraction": [None, 0.25, 0.0],
            "early_bird_step": 2,
            "unreadable": 0,
        }
    ]
    assert body["missing"] == ["plain", "x"]


def test_convergence_route_rejects_a_missing_weight_or_run(written):
    client = _client(written)
    assert _get(client, "/mask_convergence?run=settles", 400) == {
        "error": "Invalid argument: missing parameter 'weight'"
    }
    assert _get(client, "/mask_convergence?weight=d/kernel", 400) == {
        "error": "Invalid argument: parameter 'run' must be given 1 to 100 times, got 0"
    }


def test_convergence_is_kept_until_a_new_mask_record(written, tmp_path):
    import shutil

    logdir = tmp_path / "logdir"
    shutil.copytree(written / "settles", logdir / "settles")
    ctx = context.RequestContext()
    pruning_reader, multiplexer = _reader(logdir)
    first = pruning_reader.mask_convergence(ctx, "", "settles", "d/kernel")
    assert pruning_reader.mask_convergence(ctx, "", "settles", "d/kernel") is first
    # A later second in the new event file's name: TensorBoard's loader reads the files of a
    # run in name order, and one named in the same second may sort first (its counter suffix).
    time.sleep(1.1)
    with lb.RunWriter(logdir / "settles") as w:
        w.add(6, [summary.mask("d/kernel", np.zeros([100, 100], bool))])
    multiplexer.Reload()  # the same reader: its kept result is for another last record
    again = pruning_reader.mask_convergence(ctx, "", "settles", "d/kernel")
    assert again.steps == [0, 1, 2, 3, 4, 5, 6] and again.early_bird_step == 6


def test_early_bird_index_needs_every_later_value_under_the_limit():
    assert convergence.early_bird_index([0.5, 0.001, 0.02, 0.0]) == 3
    assert convergence.early_bird_index([0.005, 0.001, 0.0]) == 0
    assert convergence.early_bird_index([0.0, None, 0.0]) == 2
    assert convergence.early_bird_index([0.5]) is None
    assert convergence.early_bird_index([]) is None
