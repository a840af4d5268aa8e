"""When a mask record is a keyframe and when a delta (format version 2; docs/format.md).

A changed mask is written as its change from the weight's previous mask record (a delta,
`summary.mask_delta`): a gradual schedule's small changes then cost a fraction of a whole
mask (figures in docs/format.md). A read decodes the chain from the latest keyframe,
so a keyframe (`summary.mask`, the whole mask) is written:
- at the weight's first record by this monitor (a new monitor: a resumed training or a new
  process knows nothing of the records before), and when the caller says so (a rebuilt
  model, a new event file after a failure: `keyframe=True`);
- after a shape change;
- when the chain holds `keyframe_interval` records (a read decodes at most
  `keyframe_interval - 1` deltas);
- when the base could be a record readers drop (docs/format.md, "When records are
  written"): a training started since the base was recorded, at or before the base's step
  (a rewound training supersedes it), or the writer lost or failed to write steps since;
  or the record's step is not after the base's;
- when the delta would not be smaller than the keyframe (a large change).
"""

import dataclasses

import numpy as np

from tb_prune_plugin import summary

# Records per chain: a keyframe and at most 9 deltas. Chosen by measurement (docs/format.md,
# "Mask deltas"): bits per weight per change on a gradual schedule against read cost.
KEYFRAME_INTERVAL = 10


@dataclasses.dataclass
class _Chain:
    """The weight's previous mask record and the chain of records it ends."""

    mask: np.ndarray  # the recorded mask (not copied: the caller never modifies it)
    step: int
    keyframe_step: int
    length: int  # records in the chain, the keyframe included
    session: int  # the writer's `sessions` when it was recorded
    writer_state: tuple  # the writer (its id), its dropped_steps and failures then


class MaskDeltaEncoder:
    """Builds each weight's mask record, keyframe or delta, from the records before it.

    Args:
      keyframe_interval: records per chain (a keyframe every this many mask records).
    """

    def __init__(self, keyframe_interval=KEYFRAME_INTERVAL):
        if keyframe_interval < 1:
            raise ValueError("keyframe_interval must be at least 1, got %r" % (keyframe_interval,))
        self.keyframe_interval = keyframe_interval
        self._chains = {}

    @staticmethod
    def _writer_state(writer):
        if writer is None:
            return 0, None, ()
        return (
            writer.sessions,
            writer.session_start,
            (
                id(writer),
                writer.dropped_steps,
                writer.failures,
            ),
        )

    def _base(self, path, mask, step, writer, keyframe):
        """The chain a delta of `path` at `step` would extend, or None: a keyframe is due."""
        chain = self._chains.get(path)
        if keyframe or chain is None or chain.mask.shape != mask.shape:
            return None
        sessions, session_start, writer_state = self._writer_state(writer)
        if (
            chain.length >= self.keyframe_interval
            or step <= chain.step
            or writer_state != chain.writer_state
            or (sessions != chain.session and chain.step >= session_start)
        ):
            return None
        return chain

    def record(self, path, mask, step, writer=None, keyframe=False):
        """The mask record (`Summary.Value`) of weight `path`'s boolean `mask` at `step`.

        Args:
          writer: the `GuardedWriter` the record goes to: its trainings' starts
            (`sessions`, `session_start`) and losses (`dropped_steps`, `failures`) decide
            whether a base may be lost to a reader (another writer: a keyframe). None: a
            writer that never fails and sees one training.
          keyframe: write a keyframe whatever the state (the caller knows the previous
            records may not be read: another model, a new event file).
        """
        mask = np.asarray(mask)
        chain = self._base(path, mask, step, writer, keyframe)
        value = None
        if chain is not None:
            value = summary.mask_delta(path, chain.mask, mask, chain.step, chain.keyframe_step)
            payload = len(value.tensor.string_val[1])
            if 8 * payload > mask.size // 8:
                # A large change (over 1/8 bit a weight): the keyframe may be smaller.
                keyframe_value = summary.mask(path, mask)
                if len(keyframe_value.tensor.string_val[1]) <= payload:
                    value, chain = keyframe_value, None
        if value is None:
            value = summary.mask(path, mask)
        sessions, _, writer_state = self._writer_state(writer)
        if chain is None:
            self._chains[path] = _Chain(mask, step, step, 1, sessions, writer_state)
        else:
            self._chains[path] = _Chain(
                mask, step, chain.keyframe_step, chain.length + 1, sessions, writer_state
            )
        return value
