"""The demo's Keras 3 runs record what they do: the manual run's target follows the ramp
its pruner applies, and the dense baseline records no target at all."""

import numpy as np

from tb_prune_plugin import reader
from tb_prune_plugin.callbacks import demo


def test_demo_manual_target_follows_its_ramp_and_the_baseline_has_none(tmp_path, monkeypatch):
    """Regression: the manual run drew a flat 80% target from step 0 while its pruning ramped
    (target_sparsity=0.8), and the baseline recorded a target of 0 (target_sparsity=0.0)."""
    monkeypatch.setattr(demo, "EPOCHS", 2)
    train, val = demo._data()
    demo._keras3_runs(str(tmp_path), train, val)
    exp = reader.load(str(tmp_path))
    assert sorted(exp.runs) == ["dense_baseline", "manual_keras3_80", "scan_dense_baseline"]
    # The scan of the trained baseline: every weight at the demo's levels; removing nothing
    # gives the validation figures Keras logged at the end of training.
    scans = exp.runs["scan_dense_baseline"].sensitivity
    assert sorted(scans) == sorted(exp.runs["dense_baseline"].weights)
    epoch = exp.runs["dense_baseline"].metrics["epoch"]
    for name, scan in scans.items():
        assert scan.sparsities.tolist() == [0.0, 0.25, 0.5, 0.75, 0.9, 0.95], name
        assert sorted(scan.metrics) == ["accuracy", "loss"], name
        for metric in ("loss", "accuracy"):
            logged = epoch["val_" + metric].values[-1]
            np.testing.assert_allclose(scan.metrics[metric][0], logged, rtol=1e-5, err_msg=name)

    steps = demo.EPOCHS * int(np.ceil(len(train[0]) / demo.BATCH))  # 2 * 22 = 44
    ramp = int(steps * 0.7)  # 30
    manual = exp.runs["manual_keras3_80"]
    for name, w in manual.weights.items():
        expected = [0.8 * min(1.0, (s // 10 * 10) / ramp) for s in w.steps]
        np.testing.assert_allclose(w.fields["target_sparsity"], expected, rtol=1e-6, err_msg=name)
        assert w.fields["target_sparsity"][0] == 0.0
        # The masks reach the target the ramp names (to one weight in the quantile).
        size = w.fields["size"][0]
        np.testing.assert_allclose(w.fields["sparsity"], expected, atol=1.0 / size, err_msg=name)
    dense = exp.runs["dense_baseline"]
    for name, w in dense.weights.items():
        assert np.isnan(w.fields["target_sparsity"]).all(), name
        assert (w.fields["sparsity"] == 0).all(), name
