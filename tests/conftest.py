"""Shared fixtures: real trainings run once per test session and read back by many tests."""

import dataclasses
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from tests import training  # noqa: E402


@dataclasses.dataclass
class TrainedRun:
    """A finished training: where it logged, what the probe saw, and Keras's history."""

    logdir: str
    run: str  # the run name as the reader reports it
    probe: training.Probe
    history: dict
    model: object
    schedule: object = None
    final_step: int = 0


@pytest.fixture(scope="session")
def tfmot_poly_run(tmp_path_factory):
    """TF-MOT, PolynomialDecay 0 -> 0.75 over steps 2..14 every 4 steps, every_n_steps=2.

    800 digits in batches of 100: 8 steps per epoch, 2 epochs, 16 steps.
    """
    import tensorflow_model_optimization as tfmot

    from tb_prune_plugin.callbacks import PruningMonitor

    root = tmp_path_factory.mktemp("tfmot_poly")
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0, final_sparsity=0.75, begin_step=2, end_step=14, frequency=4
    )
    model = training.dense_tfmot_model(schedule)
    probe = training.Probe()
    x, y = training.digits(800)
    vx, vy = training.digits(1000)
    history = model.fit(
        x,
        y,
        batch_size=100,
        epochs=2,
        validation_data=(vx[800:], vy[800:]),
        callbacks=[
            tfmot.sparsity.keras.UpdatePruningStep(),
            PruningMonitor(str(root / "poly"), every_n_steps=2),
            probe,
        ],
        verbose=0,
    )
    return TrainedRun(
        logdir=str(root),
        run="poly",
        probe=probe,
        history=history.history,
        model=model,
        schedule=schedule,
        final_step=int(model.optimizer.iterations.numpy()),
    )
