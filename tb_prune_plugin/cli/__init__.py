"""The `tb-prune` command: pruning records outside TensorBoard.

    tb-prune summary LOGDIR [--run REGEX] [--format table|csv|json]
    tb-prune export LOGDIR --run RUN [--step STEP] -o masks.npz
    tb-prune report LOGDIR -o report.html [--max-mask-weights N] [--max-mask-steps N]

Reads a log directory with `reader.load` (TensorBoard's event loading; never TensorFlow).
Results go to stdout or the output file, progress to stderr. Bad input (a missing or empty
log directory, no pruning runs, an unknown run or step) exits with status 2 and a message
saying what was received and what to do.
"""

import argparse
import sys
import types

from tb_prune_plugin.cli import export as export_cmd
from tb_prune_plugin.cli import report as report_cmd
from tb_prune_plugin.cli import summary as summary_cmd
from tb_prune_plugin.cli.logdir import (
    UsageError,
    check_logdir,
    load_experiment,
    run_pattern,
    select_runs,
)

_FORMATTERS = {
    "table": summary_cmd.to_table,
    "csv": summary_cmd.to_csv,
    "json": summary_cmd.to_json,
}


def _step(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError("must be an integer step >= 0, got %r" % text)
    return value


def _count(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError("must be an integer >= 1, got %r" % text)
    return value


def _add_logdir(parser):
    parser.add_argument("logdir", metavar="LOGDIR", help="the directory given to tensorboard")


def _parser():
    parser = argparse.ArgumentParser(
        prog="tb-prune", description="Pruning records (PruningMonitor) outside TensorBoard."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    summary = commands.add_parser(
        "summary",
        help="per run and pruned weight, the last recorded state; per run the model",
        description="Per run and pruned weight, the state at its last recorded step; per run "
        "the model-wide figures (weight '%s')." % summary_cmd.MODEL_ROW,
    )
    _add_logdir(summary)
    summary.add_argument("--run", metavar="REGEX", help="only runs whose name matches (re.search)")
    summary.add_argument("--format", choices=sorted(_FORMATTERS), default="table")
    export = commands.add_parser(
        "export",
        help="the masks in force at a step, as boolean arrays in a .npz file",
        description="Writes the masks of RUN in force at STEP (default: the last recorded "
        "mask step) to a NumPy .npz file, one boolean array per weight path.",
    )
    _add_logdir(export)
    export.add_argument("--run", required=True, metavar="RUN", help="the run's exact name")
    export.add_argument("--step", type=_step, metavar="STEP", help="default: the last")
    export.add_argument("-o", "--output", required=True, metavar="FILE.npz")
    report = commands.add_parser(
        "report",
        help="one self-contained HTML file: the dashboard with the data, no server needed",
        description="Writes the Pruning dashboard with every view's data embedded into one "
        "HTML file that opens from disk (file://) with no server and no network.",
    )
    _add_logdir(report)
    report.add_argument("-o", "--output", required=True, metavar="FILE.html")
    report.add_argument(
        "--max-mask-weights",
        type=_count,
        default=report_cmd.DEFAULT_MAX_MASK_WEIGHTS,
        metavar="N",
        help="masks of at most N run/weight pairs (default %(default)s)",
    )
    report.add_argument(
        "--max-mask-steps",
        type=_count,
        default=report_cmd.DEFAULT_MAX_MASK_STEPS,
        metavar="N",
        help="at most N mask steps per weight: first, last, evenly between (default %(default)s)",
    )
    return parser


def main(argv=None):
    """Runs the command with `argv` (default: `sys.argv[1:]`); returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "report":
            check_logdir(args.logdir)
            report_cmd.report(args.logdir, args.output, args.max_mask_weights, args.max_mask_steps)
            return 0
        pattern = run_pattern(args.run) if args.command == "summary" else None
        experiment = load_experiment(args.logdir)
        if args.command == "summary":
            runs = select_runs(experiment, pattern)
            sys.stdout.write(_FORMATTERS[args.format](summary_cmd.rows(runs)))
            if args.format == "table":
                sys.stdout.write(summary_cmd.alerts_text(runs))
        else:
            export_cmd.export(experiment, args.run, args.step, args.output)
    except UsageError as e:
        print("tb-prune %s: error: %s" % (args.command, e), file=sys.stderr)
        return 2
    return 0


def console_main():
    """The `tb-prune` console script.

    For local paths it has TensorBoard read the event files with its TensorFlow stub
    (`tensorboard.compat.notf`, TensorBoard's own switch), so that TensorFlow is not imported:
    that import takes seconds and fills stderr with log lines. A URL (`gs://...`) needs
    TensorFlow's file systems, so with one the switch is not set.
    """
    if not any("://" in arg for arg in sys.argv[1:]):
        sys.modules.setdefault(
            "tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf")
        )
    sys.exit(main())
