"""Delta-coded masks written by real trainings: the masks read at every recorded step equal
the mask variables, across keyframe boundaries, a resumed training, a rewound one and a
rebuilt model of another size (format version 2, tb_prune_plugin/mask_codec.py)."""

import glob
import json

import numpy as np
import tf_keras
from tensorboard.backend.event_processing import event_file_loader

from benchmarks.fixtures import logdir_builder as lb
from tb_prune_plugin import mask_codec, reader
from tb_prune_plugin.callbacks import PruningMonitor
from tests import training
from tests.test_maskread import CountingProvider


def _mask_headers(logdir):
    """[(step, weight, header dict)] of every mask record in the event files, in file order."""
    out = []
    for path in sorted(glob.glob(logdir + "/events.out.tfevents.*")):
        for event in event_file_loader.EventFileLoader(path).Load():
            for value in event.summary.value:
                if value.tag.endswith("/mask"):
                    header = json.loads(value.tensor.string_val[0])
                    out.append((event.step, value.tag[len("pruning/") : -len("/mask")], header))
    return out


def _header_series_pairs(logdir):
    """[(mask record's header vector, mask_header value's vector)] of every mask record in
    the event files: the mask_header value of the same weight in the same event (None if
    there is none)."""
    out = []
    for path in sorted(glob.glob(logdir + "/events.out.tfevents.*")):
        for event in event_file_loader.EventFileLoader(path).Load():
            values = {v.tag: v for v in event.summary.value}
            for tag, value in values.items():
                if tag.endswith("/mask"):
                    written = values.get(tag + "_header")
                    out.append(
                        (
                            mask_codec.header_vector(value.tensor.string_val[0]).tolist(),
                            None
                            if written is None
                            else np.frombuffer(written.tensor.tensor_content, "<i8").tolist(),
                        )
                    )
    return out


def _assert_masks_read_equal(root, run, expected, steps):
    """The mask in force at each of `steps` (the latest record at or before it), read by
    `reader.load`, equals `expected[step][weight]` for every weight."""
    weights = reader.load(str(root)).runs[run].weights
    for step in steps:
        for weight, want in expected[step].items():
            masks = weights[weight].masks
            recorded = max(s for s in masks if s <= step)
            np.testing.assert_array_equal(
                masks[recorded], want, err_msg="%s at %d" % (weight, step)
            )


def test_gradual_tfmot_masks_across_keyframe_boundaries(tmp_path):
    import tensorflow_model_optimization as tfmot

    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0, final_sparsity=0.9, begin_step=0, end_step=24, frequency=1
    )
    model = training.dense_tfmot_model(schedule)
    probe = training.Probe()
    x, y = training.digits(300)
    model.fit(
        x,
        y,
        batch_size=10,
        epochs=1,
        verbose=0,
        callbacks=[
            tfmot.sparsity.keras.UpdatePruningStep(),
            PruningMonitor(str(tmp_path / "run")),
            probe,
        ],
    )
    _assert_masks_read_equal(tmp_path, "run", probe.masks, range(31))
    # Every mask record has its header, as a vector, in the mask_header series of the same
    # event; listing the masks then reads no header blob.
    pairs = _header_series_pairs(str(tmp_path / "run"))
    assert len(pairs) >= 32 and all(vector == written for vector, written in pairs)
    provider = CountingProvider(lb.local_data_provider(tmp_path))
    listing = reader.PruningReader(provider)
    ctx = lb.request_context()
    headers = _mask_headers(str(tmp_path / "run"))
    for weight in ("hidden/kernel", "logits/kernel"):
        steps = [step for step, w, _ in headers if w == weight]
        assert [s for s, _ in listing.mask_steps(ctx, "", "run", weight)] == steps
    assert provider.blob_reads == []
    for weight in ("hidden/kernel", "logits/kernel"):
        records = [(step, h) for step, w, h in headers if w == weight]
        kinds = [h["kind"] for _, h in records]
        assert kinds[0] == "keyframe" and kinds.count("delta") >= 15, kinds
        chain = 0
        for (previous_step, _), (step, header) in zip(records, records[1:]):
            chain = chain + 1 if header["kind"] == "delta" else 0
            assert chain < 10, "a chain of more than 10 records at step %d" % step
            if header["kind"] == "delta":
                assert header["base_step"] == previous_step


def _model(hidden, units=8):
    tf_keras.utils.set_random_seed(1)
    model = tf_keras.Sequential(
        [
            tf_keras.layers.Dense(units, activation="relu", input_shape=(64,), name=hidden),
            tf_keras.layers.Dense(10, name="logits"),
        ]
    )
    training.compile_classifier(model)
    return model


def _manual_probe(model):
    return training.Probe(
        {"hidden/kernel": model.layers[0].kernel, "logits/kernel": model.layers[1].kernel}
    )


class _RisingPruner(training.MagnitudePruner):
    """Zeroes the smallest |w| of each kernel at every step, 3% more of them each step."""

    def __init__(self):
        super().__init__(0.0, 1)

    def on_train_batch_end(self, batch, logs=None):
        self.target = min(0.9, 0.03 * int(self.model.optimizer.iterations.numpy()))
        super().on_train_batch_end(batch, logs)


def _fit(model, monitor, probe, steps, pruner=None):
    x, y = training.digits(10 * steps)
    model.fit(
        x,
        y,
        batch_size=10,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=[pruner or training.MagnitudePruner(0.5, 1), monitor, probe],
    )


def test_resumed_training_masks_equal_mask_variables_at_every_step(tmp_path):
    """Train to step 30, resume from the state of step 20 with a new monitor: the records of
    steps 21 to 30 of the first training are dropped, and no delta is made from one."""
    logdir = str(tmp_path / "run")
    first = _model("hidden")
    saved = {}
    first_probe = _manual_probe(first)
    save = training.AtStep(20, lambda m: saved.update(weights=m.get_weights()))
    x, y = training.digits(300)
    first.fit(
        x,
        y,
        batch_size=10,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=[
            training.MagnitudePruner(0.5, 1),
            PruningMonitor(logdir, every_n_steps=1),
            first_probe,
            save,
        ],
    )
    second = _model("hidden")
    second.set_weights(saved["weights"])
    second.optimizer.iterations.assign(20)
    second_probe = _manual_probe(second)
    _fit(second, PruningMonitor(logdir, every_n_steps=1), second_probe, 30)
    expected = {s: first_probe.masks[s] for s in range(21)}
    expected.update({s: second_probe.masks[s] for s in range(21, 51)})
    _assert_masks_read_equal(tmp_path, "run", expected, range(51))
    kinds = {(s, w): h["kind"] for s, w, h in _mask_headers(logdir)}
    assert kinds[(21, "hidden/kernel")] == "keyframe" and kinds[(22, "hidden/kernel")] == "delta"


def test_rewound_training_same_monitor_never_deltas_from_a_dropped_record(tmp_path):
    """Regression guard: one monitor records steps 0, 10, 20 and 27, then the same model is
    rewound to step 22 and trained on. Readers drop the first training's record of step 27
    (at or after the second one's start, 23); the first mask record of the second training
    (step 30) must be a keyframe, not a delta from step 27."""
    model = _model("hidden", units=64)
    monitor = PruningMonitor(str(tmp_path / "run"), every_n_steps=10)
    probe = _manual_probe(model)
    _fit(model, monitor, probe, 27)
    first = {s: probe.masks[s] for s in (0, 10, 20)}
    model.optimizer.iterations.assign(22)
    _fit(model, monitor, probe, 27)
    expected = {**first, **{s: probe.masks[s] for s in (30, 40, 49)}}
    _assert_masks_read_equal(tmp_path, "run", expected, sorted(expected))
    kinds = [
        (s, h["kind"]) for s, w, h in _mask_headers(str(tmp_path / "run")) if w == "hidden/kernel"
    ]
    assert kinds == [
        (0, "keyframe"),
        (10, "keyframe"),  # from 0% to 50% pruned: the keyframe is smaller than the delta
        (20, "delta"),
        (27, "delta"),
        (30, "keyframe"),
        (40, "delta"),
        (49, "delta"),
    ]


def test_rebuilt_model_of_another_size_same_monitor(tmp_path):
    """A model with 64 hidden units, then a rebuilt one with 48 under the same paths and the
    same monitor: keyframes at the shape change, then deltas, all read exactly."""
    monitor = PruningMonitor(str(tmp_path / "run"), every_n_steps=1)
    wide = _model("hidden", units=64)
    probe = _manual_probe(wide)
    _fit(wide, monitor, probe, 10, _RisingPruner())
    expected = dict(probe.masks)
    narrow = _model("hidden", units=48)
    narrow.optimizer.iterations.assign(10)
    probe = _manual_probe(narrow)
    _fit(narrow, monitor, probe, 10, _RisingPruner())
    expected.update({s: m for s, m in probe.masks.items() if s > 10})
    _assert_masks_read_equal(tmp_path, "run", expected, range(21))
    headers = _mask_headers(str(tmp_path / "run"))
    for weight, shapes in (
        ("hidden/kernel", ([64, 64], [64, 48])),
        ("logits/kernel", ([64, 10], [48, 10])),
    ):
        records = [(s, h["kind"], h["shape"]) for s, w, h in headers if w == weight]
        after = [r for r in records if r[0] > 10]
        assert (records[0], after[0]) == ((0, "keyframe", shapes[0]), (11, "keyframe", shapes[1]))
        assert [kind for _, kind, _ in after[1:]] == ["delta"] * 9
