"""Writes a log directory and serves every route of the Pruning plugin over it, in a process of
its own, so that two versions of the package (this tree and one from git history, put first on
PYTHONPATH) can be compared body by body (tests/test_same_bodies.py).

Usage: python tests/route_bodies.py write LOGDIR
       python tests/route_bodies.py serve LOGDIR OUT.json

`write` uses whichever `tb_prune_plugin.summary` and `benchmarks.fixtures.logdir_builder` are
first on the path; `serve` asks every route of http_api.md with the parameters that change its
answer (thinning, fields, bounds, diff, bad input) and writes {url: [status, content type, body]}.
"""

import json
import math
import os
import sys

import numpy as np

from benchmarks.fixtures import logdir_builder as lb
from tb_prune_plugin import plugin, summary


def write(logdir):
    """The demo runs, a long run whose series are thinned, and a run that restarted."""
    lb.write_demo_logdir(logdir)
    rng = np.random.default_rng(7)
    with lb.RunWriter(os.path.join(logdir, "long")) as w:
        for step in range(0, 60, 2):
            mask = rng.random([4, 6]) < 0.5 + step / 200
            values = [
                summary.weight_stats(
                    "d/kernel",
                    lb.stats(
                        size=24,
                        nonzeros=int(mask.sum()),
                        sparsity=1 - mask.sum() / 24,
                        mask_changed=1 if step % 6 == 0 else 0,
                    ),
                ),
                summary.model_stats(lb.model_stats(global_sparsity=step / 100, model_size=24)),
                summary.metric("batch", "loss", 1.0 / (step + 1)),
            ]
            if step % 6 == 0:
                values.append(summary.mask("d/kernel", mask))
            if step % 10 == 0:
                values.append(summary.weight_histogram("d/kernel", -1.0, 1.0, [step, 3, 1]))
            w.add(step, values)
    with lb.RunWriter(os.path.join(logdir, "restarted"), keep_all_metadata=True) as w:
        for step in (0, 10, 20, 10, 20, 30):
            mask = np.arange(6).reshape([2, 3]) % (2 + step // 10) != 0
            w.add(
                step,
                [
                    summary.weight_stats("k", lb.stats(size=6, sparsity=step / 40, l2=math.inf)),
                    summary.mask("k", mask),
                    summary.run_config({"method": "manual", "step": step}),
                ],
            )


def urls():
    """Every route with the parameter sets that matter, including refusals."""
    weights = {"alpha": ["dense/kernel", "dense/bias"], "beta/manual": ["conv/kernel"]}
    weights.update({"long": ["d/kernel"], "restarted": ["k"], "nope": ["x"]})
    out = ["/runs", "/overview", "/overview.csv", "/overview?run=alpha&run=long", "/config"]
    out += ["/weight_series?run=alpha", "/mask?run=alpha&weight=dense/kernel&step=x"]
    out += ["/static/index.js", "/static/../plugin.py", "/static/nothing.js"]
    for mp in ("", "&max_points=1", "&max_points=7", "&max_points=0"):
        out.append("/model_series_multi?run=alpha&run=long&run=restarted" + mp)
        out.append("/model_series_multi?run=long&fields=global_sparsity,model_size" + mp)
        out.append("/weight_series_multi?run=long&run=restarted&weight=d/kernel" + mp)
        out.append("/weight_series_multi?run=alpha&weight=dense/kernel&fields=sparsity" + mp)
    out.append("/weight_series_multi?run=alpha&weight=dense/kernel&fields=bogus")
    for run, names in weights.items():
        out += ["/config?run=" + run, "/overview?run=" + run]
        for mp in ("", "&max_points=1", "&max_points=7"):
            out += ["/model_series?run=" + run + mp, "/metrics?run=" + run + mp]
        for weight in names:
            q = "run=%s&weight=%s" % (run, weight)
            for mp in ("", "&max_points=1", "&max_points=4", "&max_points=7"):
                out += ["/weight_series?" + q + mp, "/histograms?" + q + mp]
            out.append("/mask_steps?" + q)
            for step in (0, 5, 10, 12, 20, 30, 36, 54, 99):
                m = "/mask?%s&step=%d" % (q, step)
                out += [m, m + "&diff=1", m + "&max_cells=4", m + "&row0=1&rows=1&col0=1&cols=2"]
                out.append(m + "&diff=1&row0=0&rows=2&max_cells=3")
    return out


def tensorboard_client(logdir, argv=()):
    """`(werkzeug client, flags)` of TensorBoard's WSGI app with the core and pruning plugins,
    over the Python loader.

    Flags are parsed by TensorBoard itself (so `PruningLoader.fix_flags` runs), and the
    data provider is built by TensorBoard's own `LocalDataIngester` from those flags.
    """
    from tensorboard import program
    from tensorboard.backend import application
    from tensorboard.backend.event_processing import data_ingester
    from tensorboard.plugins.core import core_plugin
    from werkzeug import test as werkzeug_test

    tb = program.TensorBoard(
        plugins=[core_plugin.CorePluginLoader(), plugin.PruningLoader()],
        assets_zip_provider=application._placeholder_assets_zip_provider,
    )
    tb.configure(
        argv=["", "--logdir", str(logdir), "--load_fast=false", "--reload_task=blocking"]
        + list(argv),
        reload_interval=0,
    )
    ingester = data_ingester.LocalDataIngester(tb.flags)
    ingester.start()
    app = application.TensorBoardWSGIApp(
        tb.flags,
        tb.plugin_loaders,
        ingester.data_provider,
        tb.assets_zip_provider,
        ingester.deprecated_multiplexer,
    )
    return werkzeug_test.Client(app), tb.flags


def serve(logdir, out_path):
    """Writes {url: [status, content type, body text]} for every url of `urls()`."""
    client = tensorboard_client(logdir)[0]
    bodies = {}
    for url in urls():
        response = client.get("/data/plugin/pruning" + url)
        text = response.get_data(as_text=True)
        bodies[url] = [response.status_code, response.headers.get("Content-Type"), text]
    bodies["__package__"] = os.path.dirname(plugin.__file__)
    with open(out_path, "w") as f:
        json.dump(bodies, f, indent=0, sort_keys=True)


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        serve(sys.argv[2], sys.argv[3])
