"""End to end: the Structure, Configuration and Weight statistics views over real runs.

Two TF-MOT runs share one log directory: `poly` (the session's `tfmot_poly_run`,
PolynomialDecay 0 -> 0.75 over steps 2..14 every 4 steps, 16 steps) and `structured`, trained
here: its hidden kernel pruned in 2x2 blocks (max pooling) on a PolynomialDecay 0.1 -> 0.6 over
steps 0..24 every 2 steps with power 2, but trained for 8 steps only (so the schedule's end lies
beyond its last recorded step, as in a training still running), and its logits kernel pruned
2:4 (ConstantSparsity(0.5, 0), `sparsity_m_by_n=(2, 4)`). A real `tensorboard` serves them to
Debian's headless Chromium. What the views draw is read from each chart's `chartData` (the
labels, steps and values it drew, frontend/src/views/drawn.ts) and compared with the routes'
answers and with TF-MOT's own schedule objects, exactly.
"""

import os
import re
import shutil
import types
import urllib.parse

import numpy as np
import pytest

from benchmarks.fixtures import browser
from tests import training

expect, pytestmark = browser.browser_test_module()

STRUCTURED_STEPS = 8
MISSING = "\u2014"


def _train_structured_run(logdir):
    """The `structured` run (see the module docstring): 8 steps of 100 digits, a few seconds.

    Returns the two schedules, by weight path.
    """
    import tensorflow_model_optimization as tfmot
    import tf_keras

    from tb_prune_plugin.callbacks import PruningMonitor

    sparsity = tfmot.sparsity.keras
    block_schedule = sparsity.PolynomialDecay(
        0.1, 0.6, begin_step=0, end_step=24, power=2, frequency=2
    )
    nm_schedule = sparsity.ConstantSparsity(0.5, 0)
    model = tf_keras.Sequential(
        [
            sparsity.prune_low_magnitude(
                tf_keras.layers.Dense(24, activation="relu", name="hidden"),
                input_shape=(64,),
                pruning_schedule=block_schedule,
                block_size=(2, 2),
                block_pooling_type="MAX",
            ),
            sparsity.prune_low_magnitude(
                tf_keras.layers.Dense(10, name="logits"),
                pruning_schedule=nm_schedule,
                sparsity_m_by_n=(2, 4),
            ),
        ]
    )
    training.compile_classifier(model)
    x, y = training.digits(100 * STRUCTURED_STEPS)
    model.fit(
        x,
        y,
        batch_size=100,
        epochs=1,
        verbose=0,
        callbacks=[
            sparsity.UpdatePruningStep(),
            PruningMonitor(os.path.join(logdir, "structured")),
        ],
    )
    return {"hidden/kernel": block_schedule, "logits/kernel": nm_schedule}


@pytest.fixture(scope="module")
def served(tfmot_poly_run, tmp_path_factory):
    """Both runs in one log directory and TensorBoard on it (the poly run is copied: the
    session fixture's directory is shared with other tests)."""
    logdir = tmp_path_factory.mktemp("e2e_views_logdir")
    shutil.copytree(
        os.path.join(tfmot_poly_run.logdir, tfmot_poly_run.run), logdir / "poly", symlinks=True
    )
    schedules = _train_structured_run(str(logdir))
    with browser.TensorBoardProcess(logdir) as tensorboard:
        tensorboard.wait_for_runs(["poly", "structured"])
        yield types.SimpleNamespace(
            url=tensorboard.url,
            poly_schedule=tfmot_poly_run.schedule,
            poly_final_step=tfmot_poly_run.final_step,
            structured_schedules=schedules,
        )


@pytest.fixture(scope="module")
def tab(served, tmp_path_factory):
    """TensorBoard's page at #pruning in headless Chromium, with its console watched."""
    dirs = [str(tmp_path_factory.mktemp("screenshots"))]
    if os.environ.get("TB_PRUNE_SCREENSHOTS"):
        dirs.append(os.environ["TB_PRUNE_SCREENSHOTS"])
        os.makedirs(dirs[-1], exist_ok=True)
    with browser.pruning_tab(served.url) as (page, frame, errors):
        yield types.SimpleNamespace(page=page, frame=frame, errors=errors, screenshot_dirs=dirs)


# Helpers -------------------------------------------------------------------------------------


def _route(served, route, params):
    query = urllib.parse.urlencode(params)
    return browser.fetch_json("%s%s/%s?%s" % (served.url, browser.PLUGIN_PREFIX, route, query))


def _open(tab, view, **state):
    browser.open_view(tab.frame, expect, view, **state)


def _chart_data(tab, selector):
    """The chart's labels and, per label, {step: value} of the points it drew."""
    chart = tab.frame.locator(selector)
    expect(chart).to_have_attribute("data-series-count", re.compile(r"^\d+$"))
    data = chart.evaluate("e => e.chartData")
    assert data is not None, selector
    series = {}
    for label, ys in zip(data["labels"], data["ys"]):
        assert label not in series, label
        series[label] = {int(x): y for x, y in zip(data["x"], ys) if y is not None}
    assert int(chart.get_attribute("data-series-count")) == len(data["labels"])
    return series


def _recorded(entry, field):
    """{step: value} of a route's series, NaN (null) left out, as the chart leaves it out."""
    return {s: v for s, v in zip(entry["steps"], entry["fields"][field]) if v is not None}


def _screenshot(tab, name):
    for directory in tab.screenshot_dirs:
        tab.page.screenshot(path=os.path.join(directory, name + ".png"))


def _js_number(value):
    """`String(value)` in JavaScript for a JSON number: integral floats without ".0"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def _three_digits(value):
    """`formatNumber` of frontend/src/transforms/format.ts for 1e-3 <= |value| < 1e4: three
    significant digits (toPrecision(3)), then written as JavaScript writes the number."""
    assert 1e-3 <= abs(value) < 1e4, value
    return _js_number(float("%.3g" % value))


def _recorded_every(config):
    """The Configuration view's "Recorded every" cell for a run_config record."""
    h = config.get("histogram_every_n_steps")
    if h is None:
        histograms = ""
    elif h == 1:
        histograms = "; histograms in every record"
    else:
        histograms = "; histograms at mask changes and every %d steps" % h
    if config["every_n_steps"] is None:
        share = "%g%%" % (config["overhead_budget"] * 100)
        return "each mask change; others within %s of training time" % share + histograms
    if config["every_n_steps"] == 1:
        return "every step" + histograms
    return "every %d steps" % config["every_n_steps"] + histograms


def _mask_target(schedule, step):
    """The sparsity TF-MOT's wrapper has set the mask to by `step`: the schedule's target at
    the latest step in [1, step] where the schedule prunes; 0 before any."""
    for s in range(step, 0, -1):
        prune, target = schedule(np.int64(s))
        if bool(prune):
            return float(target)
    return 0.0


# The views -----------------------------------------------------------------------------------


def test_configuration_table_cells_are_the_run_config_values(served, tab):
    _open(tab, "configuration")
    frame = tab.frame
    expect(frame.locator("[data-testid=config-column]")).to_have_count(3)
    columns = [
        (c.get_attribute("data-run"), c.get_attribute("data-group"))
        for c in frame.locator("[data-testid=config-column]").all()
    ]
    # poly's two weights share one schedule; structured's two differ (block vs 2:4).
    assert columns == [("poly", "0"), ("structured", "0"), ("structured", "1")]

    def cell(run, group, row):
        return frame.locator(
            "[data-testid=config-cell][data-run=%s][data-group='%d'][data-row=%s]"
            % (run, group, row)
        )

    # Every cell against the run's /config, field by field.
    for run, group, weights in (
        ("poly", 0, ["hidden/kernel", "logits/kernel"]),
        ("structured", 0, ["hidden/kernel"]),
        ("structured", 1, ["logits/kernel"]),
    ):
        config = _route(served, "config", {"run": run})
        entry = next(w for w in config["weights"] if w["path"] == weights[0])
        params = entry["schedule"]["config"]["config"]
        constant = entry["schedule"]["class"] == "ConstantSparsity"
        expected = {
            "weights": "all 2" if run == "poly" else ", ".join(weights),
            "method": entry["method"],
            "schedule": entry["schedule"]["class"],
            "initial_sparsity": MISSING if constant else _js_number(params["initial_sparsity"]),
            "final_sparsity": _js_number(
                params["target_sparsity"] if constant else params["final_sparsity"]
            ),
            "begin_step": _js_number(params["begin_step"]),
            "end_step": "-1 (no end)" if params["end_step"] == -1 else str(params["end_step"]),
            "frequency": _js_number(params["frequency"]),
            "power": MISSING if constant else _js_number(params["power"]),
            "block_size": "x".join(map(str, entry["block_size"]))
            if entry["block_size"]
            else MISSING,
            "block_pooling": entry["block_pooling_type"] if entry["block_size"] else MISSING,
            "nm": "%d zeros per %d" % tuple(entry["sparsity_m_by_n"])
            if entry["sparsity_m_by_n"]
            else MISSING,
            "optimizer": config["optimizer"]["class"],
            "learning_rate": _three_digits(config["optimizer"]["config"]["learning_rate"]),
            "every_n_steps": _recorded_every(config),
            "keras": config["keras"],
        }
        for row, text in expected.items():
            expect(cell(run, group, row)).to_have_text(text)

    # And against what the trainings were given.
    poly = served.poly_schedule
    expect(cell("poly", 0, "schedule")).to_have_text("PolynomialDecay")
    expect(cell("poly", 0, "final_sparsity")).to_have_text(_js_number(poly.final_sparsity))
    expect(cell("poly", 0, "begin_step")).to_have_text(str(poly.begin_step))
    expect(cell("poly", 0, "end_step")).to_have_text(str(poly.end_step))
    expect(cell("poly", 0, "frequency")).to_have_text(str(poly.frequency))
    expect(cell("poly", 0, "every_n_steps")).to_have_text(
        "every 2 steps; histograms at mask changes and every 100 steps"
    )
    expect(cell("poly", 0, "learning_rate")).to_have_text("0.01")
    expect(cell("structured", 0, "block_size")).to_have_text("2x2")
    expect(cell("structured", 0, "block_pooling")).to_have_text("MAX")
    expect(cell("structured", 0, "power")).to_have_text("2")
    expect(cell("structured", 0, "initial_sparsity")).to_have_text("0.1")
    expect(cell("structured", 1, "nm")).to_have_text("2 zeros per 4")
    expect(cell("structured", 1, "schedule")).to_have_text("ConstantSparsity")
    expect(cell("structured", 1, "end_step")).to_have_text("-1 (no end)")
    assert tab.errors.messages == []


def test_schedule_preview_is_tfmot_schedule_to_its_end_step(served, tab):
    _open(tab, "configuration")
    drawn = _chart_data(tab, "figure[data-testid=chart-schedule-preview]")
    assert set(drawn) == {
        "poly planned",
        "poly actual",
        "structured planned (hidden/kernel)",
        "structured planned (logits/kernel)",
        "structured actual",
    }
    # The planned curves, point by point, are the sparsity TF-MOT's schedule objects set.
    poly = drawn["poly planned"]
    for step, value in poly.items():
        assert value == _mask_target(served.poly_schedule, step), step
    # Each pruning step's value is the schedule's own target there: at 2 (the begin step,
    # initial sparsity 0), then a stair up at 6, 10 and 14.
    for step in (2, 6, 10, 14):
        prune, target = served.poly_schedule(np.int64(step))
        assert bool(prune) and poly[step] == float(target), step
    assert [poly[s] > poly[s - 1] for s in (2, 6, 10, 14)] == [False, True, True, True]
    assert poly[0] == 0.0 and poly[14] == float(np.float32(0.75))

    block = drawn["structured planned (hidden/kernel)"]
    schedule = served.structured_schedules["hidden/kernel"]
    for step, value in block.items():
        assert value == _mask_target(schedule, step), step
    # Drawn to the end step (24), beyond the 8 steps trained; every stair 2, 4, ..., 24.
    assert max(block) == 24 > STRUCTURED_STEPS
    assert [s for s in range(1, 25) if block.get(s) != block.get(s - 1)] == list(range(2, 25, 2))
    assert block[24] == float(schedule(np.int64(24))[1]) == float(np.float32(0.6))
    # 2:4: the mask is set once, at step 1, to half; open-ended, drawn across the chart.
    assert drawn["structured planned (logits/kernel)"] == {0: 0.0, 1: 0.5, 24: 0.5}

    # The actual curves are the runs' recorded global sparsity.
    model = _route(
        served,
        "model_series_multi",
        [("run", "poly"), ("run", "structured"), ("fields", "global_sparsity")],
    )
    for entry in model["series"]:
        assert drawn[entry["run"] + " actual"] == _recorded(entry, "global_sparsity")
    assert max(drawn["structured actual"]) == STRUCTURED_STEPS
    _screenshot(tab, "configuration")
    assert tab.errors.messages == []


STRUCTURE_LINES = {
    "pruned_units_fraction": "units pruned",
    "pruned_inputs_fraction": "inputs pruned",
    "nm_compliance": "N:M compliance",
    "block_sparsity": "blocks pruned",
}


def test_structure_draws_the_recorded_structure_and_model_figures(served, tab):
    _open(tab, "structure")
    fields = ",".join(STRUCTURE_LINES)
    for weight in ("hidden/kernel", "logits/kernel"):
        drawn = _chart_data(tab, "figure[data-testid=chart-structure][data-weight='%s']" % weight)
        answer = _route(
            served,
            "weight_series_multi",
            [("weight", weight), ("run", "poly"), ("run", "structured"), ("fields", fields)],
        )
        expected = {}
        for entry in answer["series"]:
            for field, label in STRUCTURE_LINES.items():
                values = _recorded(entry, field)
                if values:
                    expected["%s %s" % (entry["run"], label)] = values
        assert drawn == expected
    # Block sparsity only where a block size is configured, N:M compliance only where N:M is.
    hidden = _chart_data(tab, "figure[data-testid=chart-structure][data-weight='hidden/kernel']")
    logits = _chart_data(tab, "figure[data-testid=chart-structure][data-weight='logits/kernel']")
    assert sorted(hidden) == [
        "poly inputs pruned",
        "poly units pruned",
        "structured blocks pruned",
        "structured inputs pruned",
        "structured units pruned",
    ]
    assert "structured N:M compliance" in logits and "structured blocks pruned" not in logits
    assert logits["structured N:M compliance"][STRUCTURED_STEPS] == 1.0
    assert hidden["structured blocks pruned"][STRUCTURED_STEPS] > 0

    model = _route(
        served,
        "model_series_multi",
        [
            ("run", "poly"),
            ("run", "structured"),
            ("fields", "model_nonzeros,dense_bytes,sparse_bytes"),
        ],
    )
    nonzeros = _chart_data(tab, "figure[data-testid=chart-model-nonzeros]")
    sizes = _chart_data(tab, "figure[data-testid=chart-model-bytes]")
    assert set(nonzeros) == {"poly non-zeros", "structured non-zeros"}
    for entry in model["series"]:
        run = entry["run"]
        assert nonzeros[run + " non-zeros"] == _recorded(entry, "model_nonzeros")
        assert sizes[run + " sparse bytes"] == _recorded(entry, "sparse_bytes")
        assert sizes[run + " dense bytes"] == _recorded(entry, "dense_bytes")
    _screenshot(tab, "structure")

    # Fewer runs, fewer lines: no chart grows a legend of runs.
    box = tab.frame.locator("[data-testid=run-checkbox][data-run=poly]")
    box.set_checked(False)
    chart = tab.frame.locator("figure[data-testid=chart-model-nonzeros]")
    expect(chart).to_have_attribute("data-series-count", "1")
    assert set(_chart_data(tab, "figure[data-testid=chart-model-nonzeros]")) == {
        "structured non-zeros"
    }
    box.set_checked(True)
    expect(chart).to_have_attribute("data-series-count", "2")
    assert tab.errors.messages == []


def test_statistics_draw_the_chosen_weight_per_run(served, tab):
    _open(tab, "statistics", focusWeight="logits/kernel")
    frame = tab.frame
    select = frame.locator("[data-testid=stat-weight]")
    expect(select).to_have_value("logits/kernel")
    select.select_option("hidden/kernel")
    charts = frame.locator("figure[data-testid=chart-statistic][data-weight='hidden/kernel']")
    expect(charts).to_have_count(3)
    answer = _route(
        served,
        "weight_series_multi",
        [
            ("weight", "hidden/kernel"),
            ("run", "poly"),
            ("run", "structured"),
            ("fields", "kept_mean_abs,l2,std"),
        ],
    )
    for field in ("kept_mean_abs", "l2", "std"):
        drawn = _chart_data(
            tab,
            "figure[data-testid=chart-statistic][data-weight='hidden/kernel'][data-stat=%s]"
            % field,
        )
        assert drawn == {e["run"]: _recorded(e, field) for e in answer["series"]}
        assert len(drawn["poly"]) == len(answer["series"][0]["steps"]) > 2
    # The choice is in the URL, shared with the Masks view.
    assert "focusWeight=hidden%2Fkernel" in frame.evaluate("() => location.hash")
    _screenshot(tab, "statistics")
    assert tab.errors.messages == []
