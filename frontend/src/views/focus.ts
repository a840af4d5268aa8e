// The run and weight chooser of the single-weight views (Masks, Weight
// distributions). Both share the choice through the URL state, so switching
// between them keeps looking at the same weight. Without a choice in the URL they
// open on the most pruned run and its largest pruned weight (from /overview).

import { isAbort } from "../api";
import { defaultFocus, type FocusCandidate } from "../transforms/default_focus";
import { runsParam } from "../transforms/query";
import type { OverviewResponse, RunInfo } from "../types";
import { el, select } from "../ui/dom";
import { loadingState, noticeState } from "../ui/states";
import type { ViewContext } from "./view";

export interface Focus {
  run: RunInfo;
  weight: string;
  /** The two selects, labelled. */
  controls: HTMLElement;
}

/**
 * Resolves the focused run and weight and calls `show` with them and the selects. A run and
 * weight named in the URL are kept when shown; what the URL does not name comes from
 * /overview (defaultFocus), whose answer is dropped if the view was left meanwhile. Appends
 * a notice to `root` instead when there is nothing to show.
 */
export function withFocus(root: HTMLElement, ctx: ViewContext, show: (focus: Focus) => void): void {
  const runs = ctx.shownRuns.filter((r) => r.weights.some((w) => ctx.weightFilter.test(w)));
  if (!runs.length) {
    root.appendChild(
      ctx.shownRuns.length
        ? noticeState("No weight of the selected runs matches the weight filter.", "Change or clear the weight filter on the left.")
        : noticeState("No run is selected.", "Tick one or more runs on the left."),
    );
    return;
  }
  const candidates: FocusCandidate[] = runs.map((r) => ({ run: r.run, weights: r.weights.filter((w) => ctx.weightFilter.test(w)) }));
  const { focusRun, focusWeight } = ctx.state;
  const named = candidates.find((c) => c.run === focusRun);
  const finish = (overview: OverviewResponse | null) => {
    const choice = defaultFocus(overview, candidates, focusRun, focusWeight)!;
    show(build(ctx, runs, candidates, choice.run, choice.weight));
  };
  if (named && focusWeight !== null && named.weights.includes(focusWeight)) {
    finish(null);
    return;
  }
  const waiting = loadingState("the most pruned run");
  root.appendChild(waiting);
  ctx.api.overview(runsParam(ctx.shownRuns.map((r) => r.run), ctx.runs.length)).then(
    (overview) => {
      if (!ctx.ticket.isCurrent()) return;
      waiting.remove();
      finish(overview);
    },
    (e) => {
      if (!ctx.ticket.isCurrent() || isAbort(e)) return;
      // Without the overview, the first run and weight: the view itself still works.
      waiting.remove();
      finish(null);
    },
  );
}

function build(ctx: ViewContext, runs: RunInfo[], candidates: FocusCandidate[], run: string, weight: string): Focus {
  if (run !== ctx.state.focusRun || weight !== ctx.state.focusWeight) {
    ctx.replaceState({ focusRun: run, focusWeight: weight });
  }
  const weights = candidates.find((c) => c.run === run)!.weights;
  const runSelect = select(
    { id: "focus-run", "data-testid": "focus-run" },
    runs.map((r) => [r.run, r.run] as const),
    run,
  );
  const weightSelect = select(
    { id: "focus-weight", "data-testid": "focus-weight" },
    weights.map((w) => [w, w] as const),
    weight,
  );
  // Another run keeps the weight when it has it; otherwise that run's largest pruned weight.
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
  return { run: runs.find((r) => r.run === run)!, weight, controls };
}
