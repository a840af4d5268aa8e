// The app shell: tabs, the run/weight sidebar, refresh, and the state kept in
// the iframe's location hash. Views are rebuilt from that state, each with a
// fresh ticket so answers meant for the previous rendering are dropped.

import { Api, Generation, isAbort } from "./api";
import { compileFilter } from "./transforms/filter";
import { changedRuns } from "./transforms/run_changes";
import { denseCandidates, holdsTraining, runKind, type RunKind } from "./transforms/run_kind";
import { TABS, decodeState, encodeState, type TabId, type ViewState } from "./transforms/url_state";
import type { RunInfo } from "./types";
import { el, replaceChildren } from "./ui/dom";
import { setRuns } from "./ui/run_colors";
import { Scope } from "./ui/scope";
import { Sidebar } from "./ui/sidebar";
import { watchTheme } from "./ui/theme";
import { errorState, loadingState, noDataState } from "./ui/states";
import { accuracyView } from "./views/accuracy";
import { configurationView } from "./views/configuration";
import { distributionsView } from "./views/distributions";
import { masksView } from "./views/masks";
import { overviewView } from "./views/overview";
import { schedulesView } from "./views/schedules";
import { sensitivityView } from "./views/sensitivity";
import { stabilityView } from "./views/stability";
import { statisticsView } from "./views/statistics";
import { structureView } from "./views/structure";
import type { View, ViewContext } from "./views/view";

// The tabs, in the order shown; a new view adds its line here (and its id to TABS).
const VIEWS: Record<TabId, { title: string; view: View }> = {
  overview: { title: "Overview", view: overviewView },
  schedules: { title: "Schedules", view: schedulesView },
  masks: { title: "Masks", view: masksView },
  accuracy: { title: "Accuracy vs sparsity", view: accuracyView },
  distributions: { title: "Weight distributions", view: distributionsView },
  stability: { title: "Mask stability", view: stabilityView },
  structure: { title: "Structure", view: structureView },
  configuration: { title: "Configuration", view: configurationView },
  statistics: { title: "Weight statistics", view: statisticsView },
  sensitivity: { title: "Sensitivity", view: sensitivityView },
};

/** How often /runs is polled for new data (TensorBoard's own reload interval is 30 s too). */
const POLL_MS = 30_000;

export class App {
  private readonly api = new Api();
  private readonly generation = new Generation();
  /** Lives as long as the app (the poll timer). */
  private readonly scope = new Scope();
  /** Lives as long as the current view. */
  private readonly viewScope = new Scope();
  private state: ViewState;
  private runs: RunInfo[] | null = null;
  private runsFingerprint = "";
  /** Each run's kind once /overview (and, for possible dense runs, their series) told it. */
  private kinds = new Map<string, RunKind | null>();
  private readonly sidebar: Sidebar;
  private readonly main: HTMLElement;
  private readonly status: HTMLElement;
  private readonly notices: HTMLElement;
  private readonly tabs = new Map<TabId, HTMLButtonElement>();
  private lastHash = "";

  constructor(root: HTMLElement) {
    this.state = decodeState(location.hash);
    this.sidebar = new Sidebar({
      onSelect: (selected) => this.setState({ runs: selected }),
      onRunFilter: (text) => this.setState({ runFilter: text }),
      onWeightFilter: (text) => this.setState({ weightFilter: text }),
    });
    this.main = el("main", { class: "view", id: "view", role: "tabpanel", tabindex: "-1" });
    this.status = el("span", { class: "status", "data-testid": "status", "aria-live": "polite" });
    this.notices = el("div", { class: "notices", "data-testid": "notices", role: "status", hidden: true });
    const nav = el("nav", { class: "tabs", role: "tablist", "aria-label": "Pruning views" });
    for (const id of TABS) {
      const b = el(
        "button",
        { type: "button", role: "tab", id: `tab-${id}`, "data-testid": `tab-${id}`, "aria-controls": "view", tabindex: "-1" },
        VIEWS[id].title,
      );
      b.addEventListener("click", () => this.setState({ tab: id }));
      this.tabs.set(id, b);
      nav.appendChild(b);
    }
    nav.addEventListener("keydown", (e) => this.onTabKey(e));
    const refresh = el("button", { type: "button", class: "refresh", "data-testid": "refresh-button", title: "Reload data" }, "Refresh");
    refresh.addEventListener("click", () => void this.loadRuns(true));
    replaceChildren(
      root,
      el("header", { class: "header" }, nav, el("div", { class: "header-right" }, this.status, refresh)),
      this.notices,
      el("div", { class: "body" }, this.sidebar.element, this.main),
    );
  }

  /** Loads the runs and renders; then keeps polling for new data. */
  start(): void {
    // Charts take their frame colours when drawn: a theme change draws the view again.
    this.scope.add(watchTheme(() => this.renderView()));
    this.writeHash();
    window.addEventListener("hashchange", () => {
      if (location.hash.replace(/^#/, "") === this.lastHash) return;
      this.state = decodeState(location.hash);
      this.lastHash = encodeState(this.state);
      this.updateSidebar();
      this.renderView();
    });
    const timer = window.setInterval(() => {
      if (!document.hidden) void this.loadRuns(false);
    }, POLL_MS);
    this.scope.add(() => window.clearInterval(timer));
    void this.loadRuns(true);
  }

  /**
   * Reads /runs. `force` (first load, the Refresh button) drops every cached
   * answer and redraws; a poll redraws only when the runs changed.
   */
  private async loadRuns(force: boolean): Promise<void> {
    if (this.runs === null) replaceChildren(this.main, loadingState("the list of runs"));
    this.status.textContent = "Refreshing\u2026";
    if (force) {
      this.api.clearCache();
      // The overview of every run does not depend on the /runs answer: ask for it alongside.
      // The view then finds it in the cache (runsParam sends no run when every run is shown).
      const s = this.state;
      if (s.tab === "overview" && s.runs === null && !s.runFilter) this.api.overview([]).catch(() => undefined);
    }
    try {
      const response = await this.api.runs();
      const fingerprint = JSON.stringify(response.runs);
      const changed = fingerprint !== this.runsFingerprint;
      this.runsFingerprint = fingerprint;
      const before = this.runs ?? [];
      this.runs = response.runs;
      setRuns(response.runs.map((r) => r.run));
      replaceChildren(this.notices, ...response.notices.map((n) => el("p", {}, n)));
      this.notices.hidden = response.notices.length === 0;
      this.status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      if (force || changed) {
        // A poll: only the runs that changed (new steps, added, removed) are read again.
        if (!force) this.api.forgetRuns(changedRuns(before, response.runs));
        this.updateSidebar();
        this.renderView();
        void this.loadKinds(response.runs);
      }
    } catch (e) {
      if (isAbort(e)) return;
      this.status.textContent = "Refresh failed";
      if (force || this.runs === null) {
        this.generation.cancel();
        replaceChildren(this.main, errorState(e, "the list of runs"));
      }
    }
  }

  /**
   * Arrow keys move between tabs (ARIA tablist, automatic activation): Left/Right to the
   * previous/next (wrapping), Home/End to the first/last; the new tab takes the focus.
   */
  private onTabKey(e: KeyboardEvent): void {
    const at = TABS.indexOf(this.state.tab);
    const to =
      e.key === "ArrowRight" ? (at + 1) % TABS.length
      : e.key === "ArrowLeft" ? (at - 1 + TABS.length) % TABS.length
      : e.key === "Home" ? 0
      : e.key === "End" ? TABS.length - 1
      : -1;
    if (to < 0) return;
    e.preventDefault();
    this.setState({ tab: TABS[to]! });
    this.tabs.get(TABS[to]!)!.focus();
  }

  /**
   * The runs' kinds for the sidebar: a run that never pruned and has no target is dense, not
   * manual. /overview (the last state, cached for the views too) names the candidates; only
   * their global sparsity over every step is read to confirm it.
   */
  private async loadKinds(runs: RunInfo[]): Promise<void> {
    try {
      const overview = await this.api.overview([]);
      const candidates = denseCandidates(runs, overview);
      const series = candidates.length ? await this.api.modelSeriesMulti(candidates, ["global_sparsity"]) : [];
      if (this.runs !== runs) return; // a newer /runs answer is being worked on
      const global = new Map(candidates.map((run, i) => [run, series[i]?.fields.global_sparsity ?? null]));
      this.kinds = new Map(runs.map((r) => [r.run, runKind(r, global.has(r.run), global.get(r.run) ?? null)]));
      this.updateSidebar();
    } catch (e) {
      if (!isAbort(e)) console.warn("pruning plugin: could not tell the runs' kinds", e);
    }
  }

  private setState(patch: Partial<ViewState>, render = true): void {
    this.state = { ...this.state, ...patch };
    this.writeHash();
    if (!render) return;
    if ("runs" in patch || "runFilter" in patch || "weightFilter" in patch) this.updateSidebar();
    this.renderView();
  }

  private writeHash(): void {
    this.lastHash = encodeState(this.state);
    // replaceState: every click would otherwise be a browser history entry of
    // the iframe, and Back would walk through them instead of leaving the page.
    // The URL is absolute on purpose: the iframe's document has <base href="plugin/pruning/">,
    // so a relative "#..." would move the iframe to the plugin's route prefix and break reload.
    const url = location.pathname + location.search + (this.lastHash ? "#" + this.lastHash : "");
    history.replaceState(null, "", url);
  }

  private updateSidebar(): void {
    this.sidebar.update({
      runs: this.runs ?? [],
      selected: this.state.runs,
      runFilter: this.state.runFilter,
      weightFilter: this.state.weightFilter,
      kinds: this.kinds,
    });
  }

  private shownRuns(): RunInfo[] {
    const runs = this.runs ?? [];
    const selected = this.state.runs === null ? null : new Set(this.state.runs);
    const filter = compileFilter(this.state.runFilter);
    // Runs of sensitivity scans alone have nothing the other views draw.
    const scansToo = this.state.tab === "sensitivity";
    return runs.filter(
      (r) => (selected === null || selected.has(r.run)) && filter.test(r.run) && (scansToo || holdsTraining(r)),
    );
  }

  private renderView(): void {
    this.viewScope.dispose();
    const ticket = this.generation.next();
    for (const [id, b] of this.tabs) {
      b.setAttribute("aria-selected", String(id === this.state.tab));
      b.setAttribute("tabindex", id === this.state.tab ? "0" : "-1");
      b.classList.toggle("active", id === this.state.tab);
    }
    this.main.replaceChildren();
    this.main.setAttribute("data-testid", `view-${this.state.tab}`);
    this.main.setAttribute("aria-labelledby", `tab-${this.state.tab}`);
    if (this.runs === null) return;
    if (this.runs.length === 0) {
      this.main.appendChild(noDataState());
      return;
    }
    const ctx: ViewContext = {
      api: this.api,
      state: this.state,
      runs: this.runs,
      shownRuns: this.shownRuns(),
      weightFilter: compileFilter(this.state.weightFilter),
      ticket,
      scope: this.viewScope,
      setState: (patch) => this.setState(patch),
      replaceState: (patch) => this.setState(patch, false),
    };
    try {
      VIEWS[this.state.tab].view(this.main, ctx);
    } catch (e) {
      console.error(e);
      replaceChildren(this.main, errorState(e, VIEWS[this.state.tab].title));
    }
  }

}
