// The plugin's own run and weight selection (the iframe cannot reach
// TensorBoard's run selector): a run filter, one checkbox per run in the
// run's colour, and a weight filter shared by every view.

import { runColor } from "./run_colors";
import { compileFilter } from "../transforms/filter";
import type { RunKind } from "../transforms/run_kind";
import type { RunInfo } from "../types";
import { el, replaceChildren, swatch } from "./dom";

export interface SidebarModel {
  runs: readonly RunInfo[];
  /** null: every run. */
  selected: readonly string[] | null;
  runFilter: string;
  weightFilter: string;
  /** The kind shown beside each run (tfmot, manual, dense); the run's method when absent. */
  kinds?: ReadonlyMap<string, RunKind | null>;
}

export interface SidebarEvents {
  onSelect(selected: string[]): void;
  onRunFilter(text: string): void;
  onWeightFilter(text: string): void;
}

const KIND_TITLES: Record<RunKind, string> = {
  tfmot: "pruned by TF-MOT",
  manual: "pruned by its own code",
  dense: "never pruned, no target: a dense run",
};

function kindLabel(kind: RunKind | null): HTMLElement | null {
  return kind ? el("span", { class: "run-method", "data-testid": "run-kind", "data-kind": kind, title: KIND_TITLES[kind] }, kind) : null;
}

/** The sidebar; update() redraws the run list without touching the inputs the user is typing in. */
export class Sidebar {
  readonly element: HTMLElement;
  private readonly runFilterInput: HTMLInputElement;
  private readonly runFilterError: HTMLElement;
  private readonly runList: HTMLElement;
  private readonly weightFilterInput: HTMLInputElement;
  private readonly weightInfo: HTMLElement;
  private model: SidebarModel = { runs: [], selected: null, runFilter: "", weightFilter: "" };

  constructor(private readonly events: SidebarEvents) {
    this.runFilterInput = el("input", {
      type: "search",
      id: "run-filter",
      "data-testid": "run-filter",
      placeholder: "Filter runs (regex)",
      "aria-label": "Filter runs by regular expression",
    });
    this.runFilterError = el("div", { class: "filter-error", "aria-live": "polite" });
    this.runList = el("div", { class: "run-list", "data-testid": "run-list", role: "group", "aria-label": "Runs" });
    this.weightFilterInput = el("input", {
      type: "search",
      id: "weight-filter",
      "data-testid": "weight-filter",
      placeholder: "Filter weights (regex)",
      "aria-label": "Filter weights by regular expression",
    });
    this.weightInfo = el("div", { class: "filter-info", "aria-live": "polite" });

    // Typing is debounced so each keystroke does not refetch every chart.
    let runTimer = 0;
    this.runFilterInput.addEventListener("input", () => {
      window.clearTimeout(runTimer);
      runTimer = window.setTimeout(() => this.events.onRunFilter(this.runFilterInput.value), 250);
    });
    let weightTimer = 0;
    this.weightFilterInput.addEventListener("input", () => {
      window.clearTimeout(weightTimer);
      weightTimer = window.setTimeout(() => this.events.onWeightFilter(this.weightFilterInput.value), 300);
    });

    const all = el("button", { type: "button", "data-testid": "runs-all" }, "All");
    all.addEventListener("click", () => this.events.onSelect(this.visibleRuns().map((r) => r.run).concat(this.hiddenSelected())));
    const none = el("button", { type: "button", "data-testid": "runs-none" }, "None");
    none.addEventListener("click", () => this.events.onSelect(this.hiddenSelected()));

    this.element = el(
      "aside",
      { class: "sidebar", "data-testid": "sidebar" },
      el("h2", {}, "Runs"),
      this.runFilterInput,
      this.runFilterError,
      el("div", { class: "button-row" }, all, none),
      this.runList,
      el("h2", {}, "Weights"),
      this.weightFilterInput,
      this.weightInfo,
    );
  }

  private visibleRuns(): RunInfo[] {
    const f = compileFilter(this.model.runFilter);
    return this.model.runs.filter((r) => f.test(r.run));
  }

  /** Selected runs the filter hides: All/None act on what is visible and keep these. */
  private hiddenSelected(): string[] {
    const visible = new Set(this.visibleRuns().map((r) => r.run));
    return this.selectedNames().filter((r) => !visible.has(r));
  }

  private selectedNames(): string[] {
    return this.model.selected === null ? this.model.runs.map((r) => r.run) : [...this.model.selected];
  }

  /** Redraws from the model; the filter inputs only change when the text differs (e.g. restored from the URL). */
  update(model: SidebarModel): void {
    this.model = model;
    if (this.runFilterInput.value !== model.runFilter && document.activeElement !== this.runFilterInput) {
      this.runFilterInput.value = model.runFilter;
    }
    if (this.weightFilterInput.value !== model.weightFilter && document.activeElement !== this.weightFilterInput) {
      this.weightFilterInput.value = model.weightFilter;
    }
    const runFilter = compileFilter(model.runFilter);
    this.runFilterError.textContent = runFilter.error ? "Not a valid regex; matching as plain text." : "";

    const selected = new Set(this.selectedNames());
    const visible = this.visibleRuns();
    const items = visible.map((r) => {
      const box = el("input", {
        type: "checkbox",
        "data-testid": "run-checkbox",
        "data-run": r.run,
        "aria-label": r.run,
      });
      box.checked = selected.has(r.run);
      box.addEventListener("change", () => {
        const next = new Set(this.selectedNames());
        if (box.checked) next.add(r.run);
        else next.delete(r.run);
        // Keep /runs order so the URL does not depend on click order.
        this.events.onSelect(this.model.runs.map((x) => x.run).filter((n) => next.has(n)));
      });
      const label = el(
        "label",
        { class: "run-item", title: r.run, "data-run": r.run },
        box,
        swatch(runColor(r.run)),
        el("span", { class: "run-name" }, r.run),
        kindLabel(model.kinds?.has(r.run) ? model.kinds.get(r.run)! : r.method),
      );
      return label;
    });
    if (!model.runs.length) replaceChildren(this.runList, el("p", { class: "hint" }, "No runs with pruning data."));
    else if (!items.length) replaceChildren(this.runList, el("p", { class: "hint" }, "No run matches the filter."));
    else replaceChildren(this.runList, ...items);

    const weights = new Set<string>();
    for (const r of model.runs) if (selected.has(r.run)) for (const w of r.weights) weights.add(w);
    const weightFilter = compileFilter(model.weightFilter);
    const matching = [...weights].filter((w) => weightFilter.test(w)).length;
    this.weightInfo.textContent =
      (weightFilter.error ? "Not a valid regex; matching as plain text. " : "") +
      `${matching} of ${weights.size} weights of the selected runs match.`;
  }
}
