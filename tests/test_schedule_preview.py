"""The schedule preview's reference values come from TF-MOT's own schedule objects.

frontend/src/transforms/schedule.ts recomputes TF-MOT's PolynomialDecay and ConstantSparsity
from a run's configuration (the Configuration view's preview curve), and
frontend/test/schedule.test.ts checks it, step by step and exactly, against the committed
fixture frontend/test/fixtures/tfmot_schedules.json. This test computes that fixture again
with the installed TF-MOT: calling each schedule object at every listed step, as the pruning
wrapper does with its pruning step, and deriving the staircase the mask follows (the target
of the latest step at or before each step where the schedule pruned; no pruning at step 0,
which a training never runs the wrapper at). So the fixture cannot drift from TF-MOT: a
changed formula in a newer TF-MOT fails here. To rewrite the fixture after such a change:
`TB_PRUNE_WRITE_FIXTURES=1 python -m pytest tests/test_schedule_preview.py`.
"""

import json
import math
import os

import numpy as np

FIXTURE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "frontend",
    "test",
    "fixtures",
    "tfmot_schedules.json",
)

# (class, positional arguments, steps to evaluate): PolynomialDecay(initial_sparsity,
# final_sparsity, begin_step, end_step, power, frequency) and ConstantSparsity(target_sparsity,
# begin_step, end_step, frequency). Small schedules at every step, a long one around its edges.
POLY, CONST = "PolynomialDecay", "ConstantSparsity"
LONG_STEPS = [0, 1, 999, 1000, 1001, 1099, 1100, 1101, 33333, 50000, 99899, 99900, 99901]
CASES = [
    (POLY, (0.0, 0.75, 2, 14, 3, 4), range(0, 21)),  # the session's tfmot_poly_run
    (POLY, (0.0, 0.9, 10, 92, 3, 10), range(0, 133)),  # the demo's tfmot_poly_90
    (POLY, (0.2, 0.9, 0, 100, 1, 7), range(0, 111)),
    (POLY, (0.05, 0.95, 3, 50, 2.5, 3), range(0, 61)),
    (POLY, (0.1, 0.5, 0, 8, 2, 2), range(0, 17)),
    (POLY, (0.3, 0.6, 4, 40, 0.5, 1), range(0, 45)),
    # end_step == begin_step: TF-MOT divides 0 by 0 at that step (its target is NaN).
    (POLY, (0.1, 0.8, 5, 5, 3, 1), range(0, 9)),
    (POLY, (0.0, 0.5, 1000, 100000, 3, 100), LONG_STEPS + [100000, 100001, 100100, 250000]),
    (CONST, (0.7, 20, -1, 20), range(0, 133)),  # the demo's tfmot_const_70
    (CONST, (0.5, 0, -1, 100), range(0, 205)),
    (CONST, (0.6, 5, 40, 7), range(0, 50)),
]


def _number(value):
    """A float32 result as JSON (exactly, as a double); NaN as null, as the routes send it."""
    value = float(value)
    return None if math.isnan(value) else value


def _expected_cases():
    """Every case evaluated with the installed TF-MOT."""
    import tensorflow_model_optimization as tfmot

    out = []
    for name, args, steps in CASES:
        schedule = getattr(tfmot.sparsity.keras, name)(*args)
        steps = list(steps)
        should_prune, target = [], []
        for step in steps:
            prune, value = schedule(np.int64(step))
            should_prune.append(bool(prune))
            target.append(_number(value))
        # The mask's target: set at each step >= 1 where the schedule prunes, 0 before any.
        # Whether it prunes, for every step up to the last listed one at once (elementwise,
        # exact); its target at those steps one by one, as the wrapper evaluates it.
        prunes = np.asarray(schedule(np.arange(max(steps) + 1, dtype=np.int64))[0])
        pruning_steps = [int(s) for s in np.flatnonzero(prunes) if s >= 1]
        effective = []
        for step in steps:
            before = [s for s in pruning_steps if s <= step]
            effective.append(_number(schedule(np.int64(before[-1]))[1]) if before else 0.0)
        out.append(
            {
                "schedule": {"class": name, "config": schedule.get_config()},
                "steps": steps,
                "should_prune": should_prune,
                "target": target,
                "effective": effective,
            }
        )
    return out


def test_schedule_fixture_is_what_tfmot_computes():
    """The committed fixture equals TF-MOT's schedules at every listed step, bit for bit."""
    expected = _expected_cases()
    if os.environ.get("TB_PRUNE_WRITE_FIXTURES"):
        with open(FIXTURE, "w") as f:
            f.write('{"cases": [\n' + ",\n".join(json.dumps(c) for c in expected) + "\n]}\n")
    with open(FIXTURE) as f:
        committed = json.load(f)["cases"]
    assert len(committed) == len(expected)
    for got, want in zip(committed, expected):
        assert got == want, "fixture differs from TF-MOT for %s" % want["schedule"]
    # The fixture covers what the preview must get right.
    poly_nan = expected[6]
    assert poly_nan["target"][5] is None and poly_nan["should_prune"][5]
    # TF-MOT computes in float32: initial 0.1 comes out as 0.1 + 2.4e-8, not float32(0.1).
    assert expected[6]["target"][0] == 0.10000002384185791
