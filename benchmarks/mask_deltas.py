"""Delta-coded masks on a gradual schedule: bits per weight per change, encoding and read cost.

    python benchmarks/mask_deltas.py [--units 1024] [--json out.json] [--route]
    python benchmarks/mask_deltas.py --stage --out out.json [--quick]   # as run.py runs it

`benchmarks/run.py` runs it as its `mask_deltas` stage (`--stage`: keyframe intervals 1 and the
encoder's default only, and the /mask route; with --quick a 64 x 64 kernel and 256 x 256 masks).

A real TF-MOT training: one Dense kernel of 1024 x 1024 weights (1,048,576) wrapped by
`prune_low_magnitude` with PolynomialDecay(0 -> 0.9, begin_step=0, end_step=100,
frequency=1): 100 mask changes of about 1% of the weights (more early, fewer late; power 3).
`PruningMonitor(every_n_steps=1)` records it; a probe callback keeps the mask variable at
every step.

Measured:
- as written: the mask records in the monitor's event file (tag, header, payload, with the
  proto framing of `Summary.Value`), in bits per weight per mask change, keyframes included;
- per keyframe interval K (the same masks encoded again with
  `MaskDeltaEncoder(keyframe_interval=K)`;
  K = 1 is format version 1, every record whole): bits per weight per change, and the read
  cost of the longest chain (a keyframe and K - 1 deltas, `mask_codec.decode_chain`), median
  of 3, on this kernel and on 4096 x 4096 masks of the same schedule (fixed random weights,
  magnitude masks: the same positions change as under TF-MOT when pruned weights stay zero);
- the encoding cost on the training thread (`MaskDeltaEncoder.record` of a changed mask),
  mean over the changes, per 1M weights.

Timings are taken on a shared machine: compare them within one run.
"""

import argparse
import glob
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tb_prune_plugin import mask_codec  # noqa: E402

INTERVALS = (1, 4, 8, 10, 16, 32)
# Defaults of --units, --side and --chains (the /mask route's chains); --quick's tiny sizes.
FULL = {"units": 1024, "side": 4096, "chains": 6}
QUICK = {"units": 64, "side": 256, "chains": 3}
FINAL_SPARSITY = 0.9
CHANGES = 100


def _schedule_sparsity(step):
    # PolynomialDecay(0 -> FINAL_SPARSITY, power 3) over CHANGES steps.
    return FINAL_SPARSITY * (1 - (1 - min(step, CHANGES) / CHANGES) ** 3)


def train(units, logdir):
    """Trains the pruned kernel; returns {step: bool mask} of the mask variable."""
    import tensorflow_model_optimization as tfmot
    import tf_keras

    from tb_prune_plugin.callbacks import PruningMonitor

    sparsity = tfmot.sparsity.keras
    tf_keras.utils.set_random_seed(0)
    model = tf_keras.Sequential(
        [
            sparsity.prune_low_magnitude(
                tf_keras.layers.Dense(units, name="big", input_shape=(units,)),
                pruning_schedule=sparsity.PolynomialDecay(
                    0.0, FINAL_SPARSITY, begin_step=0, end_step=CHANGES, frequency=1
                ),
            ),
            tf_keras.layers.Dense(10, name="logits"),
        ]
    )
    model.compile(
        optimizer=tf_keras.optimizers.Adam(1e-3),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    masks = {}

    class Probe(tf_keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            step = int(self.model.optimizer.iterations.numpy())
            masks[step] = self.model.layers[0].pruning_vars[0][1].numpy() != 0

    rng = np.random.default_rng(0)
    x = rng.normal(size=(8 * (CHANGES + 4), units)).astype(np.float32)
    y = rng.integers(0, 10, size=len(x))
    model.fit(
        x,
        y,
        batch_size=8,
        epochs=1,
        verbose=0,
        callbacks=[
            sparsity.UpdatePruningStep(),
            PruningMonitor(logdir, every_n_steps=1, time_series_scalars=False),
            Probe(),
        ],
    )
    return masks


def written_bits(logdir, size):
    """(bits per weight per change as written, records, kinds) of the monitor's mask records
    of the big kernel (the first record, the initial mask, is not a change), each with the
    mask_header record written beside it."""
    from tensorboard.backend.event_processing import event_file_loader

    sizes, kinds = [], []
    for path in sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))):
        for event in event_file_loader.EventFileLoader(path).Load():
            header_bytes = 0
            for v in event.summary.value:
                if v.tag == "pruning/big/kernel/mask_header":
                    v.ClearField("metadata")
                    header_bytes += len(v.SerializeToString())
            for v in event.summary.value:
                if v.tag == "pruning/big/kernel/mask":
                    v.ClearField("metadata")
                    sizes.append(len(v.SerializeToString()) + header_bytes)
                    kinds.append(json.loads(v.tensor.string_val[0]).get("kind"))
    changes = sizes[1:]
    return 8 * sum(changes) / len(changes) / size, len(sizes), kinds


def changed_masks(masks):
    """The distinct consecutive masks, by step (the masks the monitor records)."""
    out, previous = [], None
    for step in sorted(masks):
        if previous is None or not np.array_equal(previous, masks[step]):
            out.append((step, masks[step]))
            previous = masks[step]
    return out


def per_interval(records, interval):
    """Bits per weight per change and mean encode time (s) with `interval`; `records` is any
    iterable of (step, mask), a generator included (the 4096 x 4096 masks are made one by one)."""
    from tb_prune_plugin import summary
    from tb_prune_plugin.callbacks import mask_delta

    encoder = mask_delta.MaskDeltaEncoder(keyframe_interval=interval)
    sizes, times, values, size = [], [], [], None
    for step, mask in records:
        size = mask.size
        start = time.perf_counter()
        value = encoder.record("big/kernel", mask, step)
        times.append(time.perf_counter() - start)
        # With the mask_header record the monitor writes beside it (metadata alike).
        header = summary.mask_header("big/kernel", value, with_metadata=value.HasField("metadata"))
        sizes.append(len(value.SerializeToString()) + len(header.SerializeToString()))
        values.append((step, value))
    return 8 * sum(sizes[1:]) / (len(sizes) - 1) / size, statistics.mean(times[1:]), values


def chain_read_seconds(values, interval):
    """Median of 3 of decoding the longest chain (a keyframe and interval - 1 deltas)."""
    records = [(s, v.tensor.string_val[0], v.tensor.string_val[1]) for s, v in values]
    start = next(
        i for i, r in enumerate(records) if json.loads(r[1]).get("kind") == "keyframe" and i > 0
    )
    chain = records[start : start + interval]
    times = []
    for _ in range(3):
        t = time.perf_counter()
        mask_codec.decode_chain([(s, mask_codec.parse_header(h), p) for s, h, p in chain])
        times.append(time.perf_counter() - t)
    return statistics.median(times), len(chain)


def synthetic_records(side, seed=0):
    """Magnitude masks of a fixed random [side, side] weight at the schedule's sparsity at
    every step 0..CHANGES where it changes: a generator of (step, mask)."""
    values = np.abs(np.random.default_rng(seed).normal(size=side * side)).astype(np.float32)
    order = np.argsort(values, kind="stable")
    previous = None
    for step in range(CHANGES + 1):
        pruned = int(round(side * side * _schedule_sparsity(step)))
        if pruned == previous:
            continue
        previous = pruned
        mask = np.ones(side * side, dtype=bool)
        mask[order[:pruned]] = False
        yield step, mask.reshape(side, side)


def route_first_requests(side, interval, chains, workdir):
    """/mask of a [side, side] weight (diff, max_cells 262144, as the Masks view asks) from a
    real TensorBoard (Rust data server): run `deltas` holds the first `chains` chains of the
    schedule's masks delta-coded, run `keyframes` the same masks as keyframes at the two
    steps each request reads. For each chain, the first request of its last record in each
    run, interleaved; then every step of the last chain in order (scrubbing forward)."""
    import dashboard
    import tb_server

    from benchmarks.fixtures import logdir_builder
    from tb_prune_plugin import summary
    from tb_prune_plugin.callbacks import mask_delta

    encoder = mask_delta.MaskDeltaEncoder(keyframe_interval=interval)
    path, steps = "big/kernel", []
    with logdir_builder.RunWriter(os.path.join(workdir, "deltas")) as deltas:
        with logdir_builder.RunWriter(os.path.join(workdir, "keyframes")) as keyframes:
            for i, (step, mask) in enumerate(synthetic_records(side)):
                if i == chains * interval:
                    break
                # With each record its mask_header, as the monitor writes them.
                value = encoder.record(path, mask, step)
                deltas.add(step, [value, summary.mask_header(path, value)])
                if i % interval >= interval - 2:
                    value = summary.mask(path, mask)
                    keyframes.add(step, [value, summary.mask_header(path, value)])
                steps.append(step)
    ends = [steps[c * interval + interval - 1] for c in range(chains)]
    with tb_server.TensorBoardProcess(workdir, flags=dashboard.FLAGS) as tb:
        for run, records in (("deltas", len(steps)), ("keyframes", 2 * chains)):
            dashboard.wait_loaded_big(tb.url, run, path, records, 600)

        def mask_ms(run, step):
            query = dashboard._q(run=run, weight=path, step=step, diff=1, max_cells=262144)
            return dashboard._request(tb.url + dashboard.PREFIX + "/mask" + query)[0]

        first = {"deltas": [], "keyframes": []}
        for end in ends[:-1]:
            for run in ("deltas", "keyframes"):
                first[run].append(mask_ms(run, end))
        scrub = [mask_ms("deltas", step) for step in steps[-interval:]]
    return {
        "interval": interval,
        "first_request_ms": first,
        "scrub_forward_ms": scrub,
        "steps": steps,
    }


def _arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, help="side of the trained kernel (default 1024)")
    parser.add_argument("--side", type=int, help="side of the synthetic masks (default 4096)")
    parser.add_argument("--chains", type=int, help="chains the /mask route reads (default 6)")
    parser.add_argument("--json", "--out", dest="json", help="write the results here as JSON")
    parser.add_argument("--route", action="store_true", help="also time /mask in TensorBoard")
    parser.add_argument("--route-only", action="store_true", help="only time /mask")
    parser.add_argument(
        "--stage",
        action="store_true",
        help="what benchmarks/run.py measures: keyframe intervals 1 (format version 1) and the "
        "encoder's default only, and /mask in TensorBoard",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes (a smoke test whose figures mean nothing): %s unless given"
        % ", ".join("--%s %d" % kv for kv in QUICK.items()),
    )
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.route = args.route or args.stage
    return args


def main(argv=None):
    from tb_prune_plugin.callbacks import mask_delta

    args = _arguments(argv)
    interval = mask_delta.KEYFRAME_INTERVAL
    results = {
        "config": {
            "units": args.units,
            "side": args.side,
            "changes": CHANGES,
            "final_sparsity": FINAL_SPARSITY,
            "keyframe_interval": interval,
            "route_chains": args.chains,
            "quick": bool(args.quick),
        }
    }
    started = time.monotonic()
    if args.route_only:
        with tempfile.TemporaryDirectory() as workdir:
            results["route"] = route_first_requests(args.side, interval, args.chains, workdir)
        print(json.dumps(results, indent=1))
        return
    with tempfile.TemporaryDirectory() as logdir:
        masks = train(args.units, logdir)
        size = args.units * args.units
        bits, n_records, kinds = written_bits(logdir, size)
    results["written"] = {
        "bits_per_weight_per_change": bits,
        "mask_records": n_records,
        "keyframes": kinds.count("keyframe"),
        "deltas": kinds.count("delta"),
    }
    records = changed_masks(masks)
    results["changes"] = change_entropy(records, size)
    big = list(synthetic_records(args.side)) if args.side <= 2048 else None
    results["intervals"] = {}
    for k in sorted({1, interval}) if args.stage else INTERVALS:
        results["intervals"][k] = measure_interval(records, size, big, args.side, k)
        print(k, json.dumps(results["intervals"][k]), flush=True)
    if args.route:
        with tempfile.TemporaryDirectory() as workdir:
            results["route"] = route_first_requests(args.side, interval, args.chains, workdir)
        print("route", json.dumps(results["route"]), flush=True)
    results["seconds"] = time.monotonic() - started
    print(json.dumps(results, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


def change_entropy(records, size):
    """How much each change changed: mean fraction of weights and its entropy per weight."""
    changes = [np.count_nonzero(a != b) / size for (_, a), (_, b) in zip(records, records[1:])]
    entropy = [-(p * np.log2(p) + (1 - p) * np.log2(1 - p)) for p in changes if 0 < p < 1]
    return {
        "count": len(changes),
        "mean_fraction_changed": float(np.mean(changes)),
        "entropy_bits_per_weight": float(np.mean(entropy)),
    }


def measure_interval(records, size, big, side, interval):
    """Bits, encode and longest-chain read times with `interval`, on the trained kernel's masks
    and on the synthetic [side, side] ones (`big`, or made again one by one when None)."""
    bits, encode, values = per_interval(records, interval)
    read, _ = chain_read_seconds(values, interval) if interval > 1 else (None, 1)
    big_bits, big_encode, big_values = per_interval(big or synthetic_records(side), interval)
    big_read = chain_read_seconds(big_values, interval)[0] if interval > 1 else None
    return {
        "bits_per_weight_per_change": bits,
        "encode_ms_per_1M_weights": 1e3 * encode * (1 << 20) / size,
        "longest_chain_read_ms": None if read is None else 1e3 * read,
        "big_bits_per_weight_per_change": big_bits,
        "big_encode_ms": 1e3 * big_encode,
        "big_longest_chain_read_ms": None if big_read is None else 1e3 * big_read,
    }


if __name__ == "__main__":
    main()
