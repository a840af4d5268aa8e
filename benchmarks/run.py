"""The benchmarks of tb_prune_plugin, in one command.

    python benchmarks/run.py            # full run (about 35 to 40 minutes): docs/performance.md
    python benchmarks/run.py --quick --out /tmp/performance.md   # tiny sizes, a smoke test

Runs each stage in its own Python process (so that TensorFlow, Keras and TensorBoard state
does not leak between them) and renders their results with the machine's description:

- overhead.py: recording overhead in training (figure 1);
- disk.py: bytes on disk (figure 2);
- dashboard.py: route latency, TensorBoard's memory and the frontend in Chromium (3 and 4);
- real_models.py: ResNet-50, MobileNetV2 and a BERT-base-width encoder (and the small models):
  one record against the memory-read floor and where its time goes, step time, bytes per 1,000
  steps, TensorBoard's memory (issue 10, items 1, 2 and 4);
- mask_deltas.py --stage: delta-coded masks on a gradual schedule, bits per weight per change,
  the longest chain's decode, /mask's first request at the end of a chain (issue 10, item 3);
- scale_run.py: TensorBoard over a ResNet-50-size log directory of 100,000 steps: load, memory,
  every route against /scalars, the Masks view's first draw (issue 10, item 5).

Durations of the full run, one stage after the other on 2 cores (from the stages' last full
runs, which docs/ record; a loaded machine takes longer): overhead, disk and dashboard about 6 to
10 minutes together, real_models about 20, mask_deltas about 3 (its /mask route adds a
TensorBoard over 60 masks of 4096 x 4096), scale_run about 5; about 35 to 40 minutes in all.
python benchmarks/run.py prints each stage's time as it ends.

The full run writes docs/performance.md (or --out). --quick runs tiny sizes, with the stages
in parallel, and must be given --out: its figures mean nothing, it only proves the benchmarks
work. --json-dir keeps each stage's raw JSON results and the run's description (run.json).

report.py renders the document: the text is in benchmarks/templates/, the values and table rows
are computed from the stages' results (tests/test_benchmarks_report.py renders a kept run).

--from-json DIR renders from a kept run: alone, it re-renders the whole document without
measuring anything (after a change to report.py); with --only, the stages named are measured
again and the others are taken from DIR, and the document's header says which stages come from
which commit and date.

    python benchmarks/run.py --json-dir /tmp/bench             # measure all, keep the JSON
    python benchmarks/run.py --from-json /tmp/bench            # render again, measure nothing
    python benchmarks/run.py --only dashboard --from-json /tmp/bench --json-dir /tmp/bench2
    python benchmarks/run.py --only mask_deltas,scale_run --from-json /tmp/bench --json-dir /tmp/b3
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import checkout
import machine
import report

STAGES = ("overhead", "disk", "dashboard", "real_models", "mask_deltas", "scale_run")
RUN_JSON = "run.json"  # in --json-dir: the machine, the run's meta and each stage's origin
DEFAULT_OUT = os.path.join(checkout.REPO_ROOT, "docs", "performance.md")


def _stage_command(stage, out_json, quick, workdir):
    command = [
        sys.executable,
        os.path.join(checkout.BENCHMARKS_DIR, stage + ".py"),
        "--out",
        out_json,
    ]
    if quick:
        command.append("--quick")
    if stage == "mask_deltas":
        command.append("--stage")
    if stage == "overhead":
        command += ["--logdir", os.path.join(workdir, "overhead_runs")]
    if stage == "disk":
        mlp = os.path.join(workdir, "overhead_runs", "tfmot_mlp", "monitor_every_1")
        if os.path.isdir(mlp):
            command += ["--masks-from", mlp]
    return command


def _start(stage, quick, workdir):
    out_json = os.path.join(workdir, stage + ".json")
    log = open(os.path.join(workdir, stage + ".log"), "w")
    process = subprocess.Popen(
        _stage_command(stage, out_json, quick, workdir),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=checkout.subprocess_env(),
        cwd=checkout.REPO_ROOT,
    )
    return process, log, out_json


def _finish(stage, process, log, out_json, started):
    code = process.wait()
    log.close()
    seconds = time.monotonic() - started
    if code != 0 or not os.path.exists(out_json):
        with open(log.name) as f:
            tail = f.read()[-6000:]
        raise SystemExit(
            "benchmark stage %s failed (exit %s); its output ends with:\n%s" % (stage, code, tail)
        )
    print("  %s done in %.0f s" % (stage, seconds), file=sys.stderr)
    with open(out_json) as f:
        return json.load(f)


def run_stages(stages, quick, workdir):
    """Runs the stages (in parallel with --quick, else one after the other); returns results."""
    results = {}
    if quick:
        started = time.monotonic()
        running = {s: _start(s, quick, workdir) for s in stages}
        for stage, (process, log, out_json) in running.items():
            results[stage] = _finish(stage, process, log, out_json, started)
        return results
    for stage in stages:  # the disk stage reads the overhead stage's masks: keep this order
        print("running %s ..." % stage, file=sys.stderr)
        started = time.monotonic()
        process, log, out_json = _start(stage, quick, workdir)
        results[stage] = _finish(stage, process, log, out_json, started)
    return results


def load_kept(directory, stages):
    """(results, machine, meta, origins) of a run kept with --json-dir, for those of `stages`
    it holds (a stage it lacks is left out of the document, as with --only).

    Raises SystemExit naming the directory when it is not one written by --json-dir.
    """
    path = os.path.join(directory, RUN_JSON)
    if not os.path.exists(path):
        raise SystemExit(
            "--from-json %s: no %s there; give a directory written by --json-dir"
            % (directory, RUN_JSON)
        )
    with open(path) as f:
        kept = json.load(f)
    results = {}
    for stage in stages:
        stage_path = os.path.join(directory, stage + ".json")
        if os.path.exists(stage_path):
            with open(stage_path) as f:
                results[stage] = json.load(f)
    origins = {s: kept["origins"].get(s, _origin(kept["meta"])) for s in results}
    return results, kept["machine"], kept["meta"], origins


def _origin(meta):
    keys = ("mode", "date", "commit", "seconds", "load_start", "load_end")
    return {k: meta[k] for k in keys}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Runs the benchmarks; writes docs/performance.md.")
    parser.add_argument("--quick", action="store_true", help="tiny sizes in parallel (smoke test)")
    parser.add_argument("--out", help="the Markdown file to write (default: docs/performance.md)")
    parser.add_argument("--only", help="comma-separated stages to run: " + ",".join(STAGES))
    parser.add_argument("--json-dir", help="also keep each stage's JSON results here")
    parser.add_argument(
        "--from-json",
        help="take the stages not measured (all of them without --only) from this --json-dir",
    )
    args = parser.parse_args(argv)
    if args.quick and not args.out:
        parser.error("--quick needs --out: quick figures must not replace docs/performance.md")
    if args.only:
        unknown = sorted(set(args.only.split(",")) - set(STAGES))
        if unknown:
            parser.error(
                "--only %s: unknown stage(s) %s; the stages are %s"
                % (args.only, ", ".join(unknown), ",".join(STAGES))
            )
        stages = tuple(s for s in STAGES if s in args.only.split(","))
    else:
        stages = () if args.from_json else STAGES
    out = args.out or DEFAULT_OUT
    kept_results, kept_origins = {}, {}
    if args.from_json:
        others = tuple(s for s in STAGES if s not in stages)
        kept_results, kept_machine, kept_meta, kept_origins = load_kept(args.from_json, others)
    if not stages:  # render only: the document of the kept run, as it was measured
        if not kept_results:
            raise SystemExit("--from-json %s: it holds no stage's results" % args.from_json)
        results, description, meta, origins = kept_results, kept_machine, kept_meta, kept_origins
    else:
        start = time.monotonic()
        load_start = os.getloadavg()[0]
        commit = checkout.git_description()  # the code measured, before anything can change
        description = machine.describe()
        workdir = tempfile.mkdtemp(prefix="tb_prune_bench_")
        try:
            results = run_stages(stages, args.quick, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        meta = {
            "mode": "quick" if args.quick else "full",
            "date": report.today(),
            "commit": commit,
            "seconds": time.monotonic() - start,
            "load_start": load_start,
            "load_end": os.getloadavg()[0],
        }
        origins = {s: _origin(meta) for s in stages}
        origins.update(kept_origins)
        results.update(kept_results)
    if args.json_dir:
        os.makedirs(args.json_dir, exist_ok=True)
        for stage, result in results.items():
            with open(os.path.join(args.json_dir, stage + ".json"), "w") as f:
                json.dump(result, f, indent=1)
        with open(os.path.join(args.json_dir, RUN_JSON), "w") as f:
            json.dump({"machine": description, "meta": meta, "origins": origins}, f, indent=1)
    kept_stages = {s: o for s, o in origins.items() if o != _origin(meta)}
    text = report.render(results, description, meta, kept_stages)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print("wrote %s" % out, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
