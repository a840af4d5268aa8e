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


@pytest.fixture(scope="session")
def tfmot_seeded_run(tmp_path_factory):
    """The model of `tfmot_poly_run` (64-24-10, both kernels pruned) from its own random start
    (no global seed is set: that would change the other tests' randomness), on
    PolynomialDecay 0.2 -> 0.6 over steps 3..12 every 3 steps, every_n_steps=1: 16 steps.

    Its kernels share paths and shapes with the poly run's, and its masks are recorded at
    other steps (the mask overlap and convergence tests compare the two).
    """
    import tensorflow_model_optimization as tfmot

    from tb_prune_plugin.callbacks import PruningMonitor

    root = tmp_path_factory.mktemp("tfmot_seeded")
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.2, final_sparsity=0.6, begin_step=3, end_step=12, frequency=3
    )
    model = training.dense_tfmot_model(schedule)
    x, y = training.digits(800)
    model.fit(
        x,
        y,
        batch_size=100,
        epochs=2,
        callbacks=[
            tfmot.sparsity.keras.UpdatePruningStep(),
            PruningMonitor(str(root / "seeded"), every_n_steps=1),
        ],
        verbose=0,
    )
    return TrainedRun(
        logdir=str(root),
        run="seeded",
        probe=None,
        history={},
        model=model,
        schedule=schedule,
        final_step=int(model.optimizer.iterations.numpy()),
    )


@pytest.fixture(scope="session")
def tfmot_pair_logdir(tfmot_poly_run, tfmot_seeded_run, tmp_path_factory):
    """A log directory holding copies of the runs `poly` and `seeded` (the session
    fixtures' directories are shared with other tests, which may add to them)."""
    import shutil

    logdir = tmp_path_factory.mktemp("tfmot_pair")
    for trained in (tfmot_poly_run, tfmot_seeded_run):
        shutil.copytree(os.path.join(trained.logdir, trained.run), logdir / trained.run)
    return str(logdir)
