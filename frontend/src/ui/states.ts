// Loading, empty and error states. Each says what is going on and what to do.

import { ApiError } from "../api";
import { el } from "./dom";

/** "Loading <what>..." */
export function loadingState(what: string): HTMLElement {
  return el("div", { class: "state state-loading", "data-testid": "state-loading", role: "status" }, `Loading ${what}\u2026`);
}

/** A neutral note with a hint of what to do. */
export function noticeState(message: string, hint?: string): HTMLElement {
  return el(
    "div",
    { class: "state state-notice", "data-testid": "state-notice" },
    el("p", {}, message),
    hint ? el("p", { class: "hint" }, hint) : null,
  );
}

/** An error, quoting the server's own message for a route error. */
export function errorState(error: unknown, what: string): HTMLElement {
  let detail: string;
  let hint: string;
  if (error instanceof ApiError && error.status === 0) {
    detail = error.message;
    hint = "Check that TensorBoard is still running, then press Refresh.";
  } else if (error instanceof ApiError) {
    detail = `The server answered ${error.status} for ${error.url}: ${error.message}`;
    hint =
      error.status === 404
        ? "The run or weight may have been removed from the log directory; press Refresh to reload the list of runs."
        : error.status === 400
          ? "This view sent a request the server did not accept; press Refresh, and report it if it persists."
          : "Look at TensorBoard's console output for the cause, then press Refresh.";
  } else {
    detail = error instanceof Error ? error.message : String(error);
    hint = "Press Refresh to try again.";
  }
  return el(
    "div",
    { class: "state state-error", "data-testid": "state-error", role: "alert" },
    el("p", {}, `Could not load ${what}.`),
    el("p", { class: "error-detail" }, detail),
    el("p", { class: "hint" }, hint),
  );
}

const MONITOR_EXAMPLE = `import tensorflow_model_optimization as tfmot
from tb_prune_plugin.callbacks import PruningMonitor

model = tfmot.sparsity.keras.prune_low_magnitude(model, pruning_schedule=...)
model.compile(...)
model.fit(x, y, epochs=5, callbacks=[
    tfmot.sparsity.keras.UpdatePruningStep(),
    PruningMonitor("runs/mlp_90"),
])`;

/** No run in the log directory holds pruning data: how to record some. */
export function noDataState(): HTMLElement {
  return el(
    "div",
    { class: "state state-empty", "data-testid": "state-empty" },
    el("h2", {}, "No pruning data found"),
    el(
      "p",
      {},
      "None of the runs in TensorBoard's log directory holds records written by PruningMonitor. " +
        "Add it to the callbacks of model.fit (it works with TF-MOT pruning and with weights you zero yourself):",
    ),
    el("pre", { class: "code" }, MONITOR_EXAMPLE),
    el(
      "p",
      { class: "hint" },
      "Point TensorBoard's --logdir at the folder that holds the run directory (here: --logdir runs), " +
        "train, then press Refresh. Runs appear here as soon as the first step is recorded.",
    ),
  );
}
