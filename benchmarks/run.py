"""The benchmarks of tb_prune_plugin, in one command.

    python benchmarks/run.py            # full run (about 10 to 15 minutes): docs/performance.md
    python benchmarks/run.py --quick --out /tmp/performance.md   # tiny sizes, a smoke test

Runs each stage in its own Python process (so that TensorFlow, Keras and TensorBoard state
does not leak between them) and renders their results with the machine's description:

- overhead.py: recording overhead in training (figure 1);
- disk.py: bytes on disk (figure 2);
- dashboard.py: route latency, TensorBoard's memory and the frontend in Chromium (3 and 4).

The full run writes docs/performance.md (or --out). --quick runs tiny sizes, with the stages
in parallel, and must be given --out: its figures mean nothing, it only proves the benchmarks
work. --json-dir keeps each stage's raw JSON results.
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

STAGES = ("overhead", "disk", "dashboard")
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


def main(argv=None):
    parser = argparse.ArgumentParser(description="Runs the benchmarks; writes docs/performance.md.")
    parser.add_argument("--quick", action="store_true", help="tiny sizes in parallel (smoke test)")
    parser.add_argument("--out", help="the Markdown file to write (default: docs/performance.md)")
    parser.add_argument("--only", help="comma-separated stages to run: " + ",".join(STAGES))
    parser.add_argument("--json-dir", help="also keep each stage's JSON results here")
    args = parser.parse_args(argv)
    if args.quick and not args.out:
        parser.error("--quick needs --out: quick figures must not replace docs/performance.md")
    stages = STAGES if not args.only else tuple(s for s in STAGES if s in args.only.split(","))
    out = args.out or DEFAULT_OUT
    start = time.monotonic()
    load_start = os.getloadavg()[0]
    description = machine.describe()
    workdir = tempfile.mkdtemp(prefix="tb_prune_bench_")
    try:
        results = run_stages(stages, args.quick, workdir)
        if args.json_dir:
            os.makedirs(args.json_dir, exist_ok=True)
            for stage, result in results.items():
                with open(os.path.join(args.json_dir, stage + ".json"), "w") as f:
                    json.dump(result, f, indent=1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    meta = {
        "mode": "quick" if args.quick else "full",
        "date": report.today(),
        "commit": checkout.git_description(),
        "seconds": time.monotonic() - start,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
    }
    text = report.render(results, description, meta)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print("wrote %s (%.0f s)" % (out, meta["seconds"]), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
