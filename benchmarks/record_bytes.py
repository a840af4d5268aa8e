"""Bytes on disk of pruning records, measured from real log directories.

    python benchmarks/record_bytes.py RUN_DIR [RUN_DIR ...]

For each run: bytes per recorded step without a mask change (everything the
monitor writes at such a step, event framing included), and every mask record
in bits per weight. Event framing is TFRecord's 16 bytes plus the Event proto
around the Summary.
"""

import glob
import json
import os
import sys

import numpy as np
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.compat.proto import event_pb2, summary_pb2

from tb_prune_plugin import mask_codec, summary

FRAMING = 16  # TFRecord: length (8) + length CRC (4) + data CRC (4)


def measure(run_dir):
    """Returns a dict of byte figures for the monitor's event files in `run_dir`."""
    steps_without_mask, mask_bits, weights = [], [], set()
    for path in sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))):
        for event in event_file_loader.LegacyEventFileLoader(path).Load():
            values = event.summary.value
            if not values:
                continue
            tags = [v.tag for v in values]
            masks = [v for v in values if v.tag.endswith("/mask")]
            is_weight_step = any(t.endswith("/weight_stats") for t in tags)
            for v in masks:
                header = v.tensor.string_val[0]
                shape, _, _ = mask_codec.parse_header(header)
                size = int(np.prod(shape))
                mask_bits.append(8 * len(v.SerializeToString()) / size)
            if not is_weight_step or masks or any(v.HasField("metadata") for v in values):
                continue
            weights.update(t.rsplit("/", 1)[0] for t in tags if t.endswith("/weight_stats"))
            steps_without_mask.append(len(event.SerializeToString()) + FRAMING)
    n_weights = max(len(weights), 1)
    return {
        "run": os.path.basename(run_dir.rstrip("/")),
        "weights": len(weights),
        "bytes_per_step_no_mask_change": float(np.median(steps_without_mask))
        if steps_without_mask
        else None,
        "bytes_per_weight_per_step": float(np.median(steps_without_mask)) / n_weights
        if steps_without_mask
        else None,
        "mask_records": len(mask_bits),
        "mask_bits_per_weight_median": float(np.median(mask_bits)) if mask_bits else None,
        "mask_bits_per_weight_max": float(np.max(mask_bits)) if mask_bits else None,
    }


def scalar_only_bytes(n_weights, n_scalars_per_weight=3):
    """Bytes of a step holding only ordinary scalars (the Time Series part), for comparison."""
    values = [
        summary.scalar("pruning/w%d/kernel/%s" % (i, k), 0.5, with_metadata=False)
        for i in range(n_weights)
        for k in ("sparsity", "target_sparsity", "threshold")[:n_scalars_per_weight]
    ]
    event = event_pb2.Event(step=100, wall_time=1.0, summary=summary_pb2.Summary(value=values))
    return len(event.SerializeToString()) + FRAMING


def codec_bits_per_weight(size=1 << 20, seed=0):
    """Bits per weight of whole mask records for a large weight, by mask kind."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(1024, size // 1024))
    out = {}
    for sp in (0.5, 0.8, 0.9, 0.95, 0.99):
        cut = np.quantile(np.abs(w), sp)
        out["magnitude %d%%" % round(sp * 100)] = np.abs(w) > cut
    groups = np.abs(w).reshape(-1, 4)
    keep = np.argsort(groups, axis=1)[:, 2:]
    nm = np.zeros_like(groups, dtype=bool)
    np.put_along_axis(nm, keep, True, axis=1)
    out["2:4"] = nm.reshape(w.shape)
    units = np.ones(w.shape, dtype=bool)
    units[:, ::2] = False
    out["50% of units cut"] = units
    return {
        kind: 8 * len(summary.mask("layer/kernel", m).SerializeToString()) / m.size
        for kind, m in out.items()
    }


if __name__ == "__main__":
    print(
        json.dumps(
            {
                "runs": [measure(d) for d in sys.argv[1:]],
                "scalar_only_step_bytes_3_weights": scalar_only_bytes(3),
                "mask_record_bits_per_weight_1M": codec_bits_per_weight(),
            },
            indent=1,
        )
    )
