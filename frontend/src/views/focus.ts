// The run and weight chooser of the single-weight views (Masks, Weight
// distributions). Both share the choice through the URL state, so switching
// between them keeps looking at the same weight.

import type { RunInfo } from "../types";
import { el, select } from "../ui/dom";
import { noticeState } from "../ui/states";
import type { ViewContext } from "./view";

export interface Focus {
  run: RunInfo;
  weight: string;
  /** The two selects, labelled. */
  controls: HTMLElement;
}

/**
 * Resolves the focused run and weight (falling back to the first shown run
 * and its first weight matching the filter) and builds the selects; returns
 * null after appending a notice to `root` when there is nothing to show.
 */
export function resolveFocus(root: HTMLElement, ctx: ViewContext): Focus | null {
  const runs = ctx.shownRuns.filter((r) => r.weights.some((w) => ctx.weightFilter.test(w)));
  if (!runs.length) {
    root.appendChild(
      ctx.shownRuns.length
        ? noticeState("No weight of the selected runs matches the weight filter.", "Change or clear the weight filter on the left.")
        : noticeState("No run is selected.", "Tick one or more runs on the left."),
    );
    return null;
  }
  const run = runs.find((r) => r.run === ctx.state.focusRun) ?? runs[0]!;
  const weights = run.weights.filter((w) => ctx.weightFilter.test(w));
  const weight = weights.includes(ctx.state.focusWeight ?? "") ? ctx.state.focusWeight! : weights[0]!;
  if (run.run !== ctx.state.focusRun || weight !== ctx.state.focusWeight) {
    ctx.replaceState({ focusRun: run.run, focusWeight: weight });
  }
  const runSelect = select(
    { id: "focus-run", "data-testid": "focus-run" },
    runs.map((r) => [r.run, r.run] as const),
    run.run,
  );
  const weightSelect = select(
    { id: "focus-weight", "data-testid": "focus-weight" },
    weights.map((w) => [w, w] as const),
    weight,
  );
  runSelect.addEventListener("change", () =>
    ctx.setState({ focusRun: runSelect.value, focusWeight: ctx.state.focusWeight, step: null, region: null }),
  );
  weightSelect.addEventListener("change", () => ctx.setState({ focusWeight: weightSelect.value, step: null, region: null }));
  const controls = el(
    "div",
    { class: "controls" },
    el("label", { for: "focus-run" }, "Run "),
    runSelect,
    el("label", { for: "focus-weight" }, "Weight "),
    weightSelect,
  );
  return { run, weight, controls };
}
