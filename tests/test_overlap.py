"""Cross-run mask overlap (reader/overlap.py, GET /mask_overlap, /mask with `compare_run`):
the IoU of two runs' kept sets at their last masks and over steps, and the kept-in-both /
only-in-A / only-in-B grids, against sets computed here from the masks `reader.load` decodes,
over two real TF-MOT trainings of one model and over written log directories."""

import base64
import json
import time

import numpy as np
import pytest

from tb_prune_plugin import mask_codec, reader, summary
from tb_prune_plugin.reader import overlap
from tests import logdir_builder as lb
from tests import route_bodies

PREFIX = "/data/plugin/pruning"
WEIGHTS = ("hidden/kernel", "logits/kernel")


def _get(client, url, status=200):
    response = client.get(PREFIX + url)
    assert response.status_code == status, response.get_data(as_text=True)
    return json.loads(response.get_data(as_text=True))


def _in_force(masks, step):
    """The mask of {step: mask} in force at `step` (the latest at or before it)."""
    return masks[max(s for s in masks if s <= step)]


def _sets(a, b):
    """(|A & B|, |A | B|, IoU or None) of two boolean masks."""
    inter, union = int(np.count_nonzero(a & b)), int(np.count_nonzero(a | b))
    return inter, union, inter / union if union else None


@pytest.fixture(scope="module")
def pair(tfmot_pair_logdir):
    return reader.load(tfmot_pair_logdir), route_bodies.tensorboard_client(tfmot_pair_logdir)[0]


def test_overlap_of_tfmot_runs_is_the_iou_of_the_loaded_kept_sets(pair):
    loaded, client = pair
    runs = ["poly", "seeded"]
    for weight in WEIGHTS:
        body = _get(client, "/mask_overlap?weight=%s&run=poly&run=seeded" % weight)
        masks = {r: loaded.runs[r].weights[weight].masks for r in runs}
        last = {r: masks[r][max(masks[r])] for r in runs}
        matrix = [[_sets(last[a], last[b]) for b in runs] for a in runs]
        first = max(min(masks[r]) for r in runs)
        steps = sorted(s for s in set(masks["poly"]) | set(masks["seeded"]) if s >= first)
        over = [_sets(_in_force(masks["poly"], s), _in_force(masks["seeded"], s)) for s in steps]
        assert body == {
            "weight": weight,
            "over_steps": "mask in force at each step of the union of both runs' mask records",
            "groups": [
                {
                    "shape": list(last["poly"].shape),
                    "size": last["poly"].size,
                    "runs": runs,
                    "last_steps": [max(masks[r]) for r in runs],
                    "kept": [int(last[r].sum()) for r in runs],
                    "intersection": [[c[0] for c in row] for row in matrix],
                    "union": [[c[1] for c in row] for row in matrix],
                    "iou": [[c[2] for c in row] for row in matrix],
                    "pairs": [
                        {
                            "runs": runs,
                            "steps": steps,
                            "intersection": [c[0] for c in over],
                            "union": [c[1] for c in over],
                            "iou": [c[2] for c in over],
                        }
                    ],
                }
            ],
            "missing": [],
        }
        # Two trainings from other seeds keep different weights, but not disjoint sets.
        assert 0 < matrix[0][1][2] < 1


def _grid(text):
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8)


def test_mask_compare_grids_are_both_only_a_and_only_b_of_the_loaded_masks(pair):
    loaded, client = pair
    a = loaded.runs["poly"].weights["hidden/kernel"].masks
    b = loaded.runs["seeded"].weights["hidden/kernel"].masks
    for step in (6, 10, 16):
        body = _get(client, "/mask?run=poly&weight=hidden/kernel&step=%d&compare_run=seeded" % step)
        ma, mb = _in_force(a, step), _in_force(b, step)
        assert body["step"] == max(s for s in a if s <= step)
        assert body["compare_step"] == max(s for s in b if s <= step)
        assert body["exact"] and body["compare_kept_total"] == int(mb.sum())
        # A Dense kernel [in, out] is laid out [out, in]: rows are output units.
        for name, cells in (("both", ma & mb), ("only_a", ma & ~mb), ("only_b", mb & ~ma)):
            np.testing.assert_array_equal(_grid(body[name]), cells.T.reshape(-1) * 255, name)
        inter, union, iou = _sets(ma, mb)
        assert (body["intersection"], body["union"], body["iou"]) == (inter, union, iou)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Runs `a` and `b` with a [2, 3] mask `w` recorded at other steps (b's as a keyframe and
    a delta), run `wide` with `w` of shape [4], run `empty` whose `w` keeps nothing (twice),
    run `plain` without a mask."""
    logdir = tmp_path_factory.mktemp("overlap")
    m = lambda *bits: np.array(bits, bool).reshape(2, 3)  # noqa: E731
    with lb.RunWriter(logdir / "a") as w:
        w.add(0, [summary.mask("w", m(1, 1, 1, 1, 1, 1))])
        w.add(4, [summary.mask("w", m(1, 1, 0, 1, 0, 0))])
    with lb.RunWriter(logdir / "b") as w:
        w.add(2, [summary.mask("w", m(0, 1, 1, 1, 1, 0))])
        w.add(6, [summary.mask_delta("w", m(0, 1, 1, 1, 1, 0), m(0, 1, 1, 0, 0, 0), 2, 2)])
    with lb.RunWriter(logdir / "wide") as w:
        w.add(1, [summary.mask("w", np.array([True, False, True, True]))])
    with lb.RunWriter(logdir / "empty") as w:
        w.add(0, [summary.mask("w", np.zeros([2, 2], bool))])
    with lb.RunWriter(logdir / "empty2") as w:
        w.add(3, [summary.mask("w", np.zeros([2, 2], bool))])
    with lb.RunWriter(logdir / "plain") as w:
        w.add(0, [summary.weight_stats("w", lb.stats(size=6))])
    return logdir


def test_overlap_groups_runs_by_shape_and_pairs_over_the_union_of_steps(written):
    client = route_bodies.tensorboard_client(written)[0]
    body = _get(client, "/mask_overlap?weight=w&run=b&run=plain&run=a&run=wide&run=nope")
    assert body["missing"] == ["plain", "nope"]
    assert body["groups"] == [
        {
            "shape": [2, 3],
            "size": 6,
            "runs": ["b", "a"],
            "last_steps": [6, 4],
            "kept": [2, 3],
            "intersection": [[2, 1], [1, 3]],
            "union": [[2, 4], [4, 3]],
            "iou": [[1.0, 0.25], [0.25, 1.0]],
            # From step 2 (both have a mask): b@2 vs a@0, b@2 vs a@4, b@6 vs a@4.
            "pairs": [
                {
                    "runs": ["b", "a"],
                    "steps": [2, 4, 6],
                    "intersection": [4, 2, 1],
                    "union": [6, 5, 4],
                    "iou": [4 / 6, 0.4, 0.25],
                }
            ],
        },
        {
            "shape": [4],
            "size": 4,
            "runs": ["wide"],
            "last_steps": [1],
            "kept": [3],
            "intersection": [[3]],
            "union": [[3]],
            "iou": [[1.0]],
            "pairs": [],
        },
    ]


def test_overlap_pairs_step_only_at_their_own_runs_records(written, tmp_path):
    """Regression: with three runs, each pair was compared at every step any run recorded (a
    third run's record added steps to the other two's pair); a pair's steps are the union of
    its own two runs' records."""
    import shutil

    logdir = tmp_path / "logdir"
    for run in ("a", "b"):
        shutil.copytree(written / run, logdir / run)
    with lb.RunWriter(logdir / "c") as w:
        w.add(3, [summary.mask("w", np.array([[1, 1, 1], [0, 0, 0]], bool))])
        w.add(5, [summary.mask("w", np.array([[0, 0, 0], [1, 1, 1]], bool))])
    client = route_bodies.tensorboard_client(logdir)[0]
    (group,) = _get(client, "/mask_overlap?weight=w&run=b&run=a&run=c")["groups"]
    assert [(p["runs"], p["steps"]) for p in group["pairs"]] == [
        (["b", "a"], [2, 4, 6]),
        (["b", "c"], [3, 5, 6]),
        (["a", "c"], [3, 4, 5]),
    ]
    # a@4 = [[1, 1, 0], [1, 0, 0]] against c@3, c@5: kept in both 2 of 4, then 1 of 5.
    assert group["pairs"][2]["intersection"] == [3, 2, 1]
    assert group["pairs"][2]["union"] == [6, 4, 5]


def test_overlap_of_two_masks_that_keep_nothing_is_null(written):
    client = route_bodies.tensorboard_client(written)[0]
    group = _get(client, "/mask_overlap?weight=w&run=empty&run=empty2")["groups"][0]
    assert group["iou"] == [[None, None], [None, None]]
    assert group["pairs"][0]["steps"] == [3] and group["pairs"][0]["iou"] == [None]


def test_mask_compare_route_exact_body_and_its_edge_cases(written):
    client = route_bodies.tensorboard_client(written)[0]
    body = _get(client, "/mask?run=a&weight=w&step=5&compare_run=b")
    plain = _get(client, "/mask?run=a&weight=w&step=5")
    assert {k: body[k] for k in body if k not in plain} == {
        "compare_run": "b",
        "compare_step": 2,
        "compare_kept_total": 4,
        "shape_differs": False,
        # Layout [out, in]: a@4 kept = [[1, 1], [1, 0], [0, 0]] by output unit, b@2 = [[0, 1],
        # [1, 1], [1, 0]].
        "both": base64.b64encode(bytes([0, 255, 255, 0, 0, 0])).decode(),
        "only_a": base64.b64encode(bytes([255, 0, 0, 0, 0, 0])).decode(),
        "only_b": base64.b64encode(bytes([0, 0, 0, 255, 255, 0])).decode(),
        "intersection": 2,
        "union": 5,
        "iou": 0.4,
    }
    # Without compare_run (or with an empty one) the body is /mask's as before.
    assert _get(client, "/mask?run=a&weight=w&step=5&compare_run=") == plain
    assert {k: body[k] for k in plain} == plain
    # No mask of the other run yet at that step, and another shape: no grids.
    early = _get(client, "/mask?run=a&weight=w&step=1&compare_run=b")
    assert (early["compare_step"], early["shape_differs"], "both" in early) == (None, False, False)
    wide = _get(client, "/mask?run=a&weight=w&step=5&compare_run=wide")
    assert (wide["compare_step"], wide["shape_differs"], "both" in wide) == (1, True, False)
    assert _get(client, "/mask?run=a&weight=w&step=5&compare_run=nope", 404) == {
        "error": "Not found: no pruning data for run 'nope'"
    }
    assert _get(client, "/mask?run=a&weight=w&step=5&compare_run=b&diff=1", 400)["error"] == (
        "Invalid argument: parameters 'diff' and 'compare_run' ('b') cannot be given together: "
        "the grid shows either the changes since the previous mask or the comparison with "
        "another run"
    )


def test_mask_compare_keeps_padding_bits_zero():
    a = np.array([1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1], bool)
    b = np.array([0, 1, 1, 1, 0, 1, 0, 1, 1, 1, 0], bool)
    pa = mask_codec.PackedMask(a.shape, np.packbits(a), int(a.sum()))
    pb = mask_codec.PackedMask(b.shape, np.packbits(b), int(b.sum()))
    both, only_a, only_b = overlap.mask_compare(pa, pb)
    for packed, want in ((both, a & b), (only_a, a & ~b), (only_b, b & ~a)):
        np.testing.assert_array_equal(packed.bits, np.packbits(want))
        assert packed.kept == int(want.sum())
    assert overlap.kept_overlap(pa, pb) == (4, 10)


def test_mask_compare_answer_follows_a_new_record_of_the_other_run(written, tmp_path):
    """A kept /mask answer is keyed by both runs' records: a new mask of the compared run at
    or before the step is a new answer from the same reader, not the kept one."""
    import shutil

    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer

    from tb_prune_plugin import analysis_bodies

    logdir = tmp_path / "logdir"
    for run in ("a", "b"):
        shutil.copytree(written / run, logdir / run)
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        tensor_size_guidance={reader.PLUGIN_NAME: 0}
    )
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    pruning_reader = reader.PruningReader(
        data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    )
    bounds = dict.fromkeys(("row0", "col0", "rows", "cols"))

    def body():
        return analysis_bodies.mask_body(
            pruning_reader, context.RequestContext(), "", "a", "w", 9, bounds, 100, False, "b"
        )

    before = body()
    assert (before["compare_step"], before["intersection"]) == (6, 1)
    assert body() == before
    # A later second in the new event file's name: TensorBoard's loader reads the files of a
    # run in name order, and one named in the same second may sort first (its counter suffix).
    time.sleep(1.1)
    with lb.RunWriter(logdir / "b") as w:
        w.add(8, [summary.mask("w", np.ones([2, 3], bool))])
    multiplexer.Reload()
    after = body()
    assert (after["compare_step"], after["intersection"], after["union"]) == (8, 3, 6)


def test_analysis_routes_answer_the_same_under_the_rust_data_server(pair, tfmot_pair_logdir):
    """`tensorboard --load_fast=true` (the Rust data server, blob keys of its own) gives the
    bodies of the Python loader for /mask_convergence, /mask_overlap and a compare /mask."""
    import urllib.parse

    from tests import browser

    client = pair[1]
    urls = [
        "/mask_convergence?weight=hidden/kernel&run=poly&run=seeded",
        "/mask_overlap?weight=logits/kernel&run=seeded&run=poly",
        "/mask?run=seeded&weight=hidden/kernel&step=9&compare_run=poly",
    ]
    with browser.TensorBoardProcess(tfmot_pair_logdir, ["--load_fast=true"]) as tensorboard:
        tensorboard.wait_for_runs(["poly", "seeded"])
        for url in urls:
            path, query = url.split("?")
            full = "%s%s%s?%s" % (tensorboard.url, PREFIX, path, urllib.parse.quote(query, "=&"))
            assert browser.fetch_json(full) == _get(client, url), url
