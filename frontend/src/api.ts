// Data access: one function per route of tb_prune_plugin/http_api.md, JSON
// decoding, the server's error messages, a per-refresh cache, and the guard
// that lets a view drop a response that arrives after the user moved on.

import { fieldsParam, runChunks, seriesByRun } from "./transforms/multi_series";
import { routeUrl, type ParamValue } from "./transforms/query";
import type {
  AlertsResponse,
  HistogramsResponse,
  MaskConvergenceResponse,
  MaskOverlapResponse,
  MaskResponse,
  MaskStepsResponse,
  MetricsResponse,
  ModelSeriesMultiResponse,
  ModelStatsField,
  OverviewResponse,
  Region,
  RunConfig,
  RunSeriesEntry,
  RunsResponse,
  SensitivityResponse,
  WeightSeriesMultiResponse,
  WeightStatsField,
} from "./types";

/** A route that answered with an error, or could not be reached (status 0). */
export class ApiError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Whether `e` is the rejection of a request the app aborted itself (not an error to show). */
export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === "AbortError";
}

/**
 * A view's claim on the screen. Each new request for the screen (the user
 * changed something) takes a new ticket; the previous ticket goes stale and
 * its in-flight requests are aborted, so their answers are never drawn.
 */
export interface Ticket {
  readonly signal: AbortSignal;
  isCurrent(): boolean;
}

/** Issues tickets; only the latest one is current. */
export class Generation {
  private counter = 0;
  private controller = new AbortController();

  /** Makes every earlier ticket stale (and aborts its requests) and returns the new one. */
  next(): Ticket {
    this.controller.abort();
    this.controller = new AbortController();
    const id = ++this.counter;
    const signal = this.controller.signal;
    return { signal, isCurrent: () => id === this.counter && !signal.aborted };
  }

  /** Makes every ticket stale, e.g. when a view is left. */
  cancel(): void {
    this.controller.abort();
    this.counter++;
  }
}

type FetchFn = (url: string, init?: RequestInit) => Promise<Response>;

/** The plugin's routes. Responses other than masks are cached until `clearCache()` (a refresh). */
export class Api {
  private cache = new Map<string, Promise<unknown>>();

  constructor(private readonly fetchFn: FetchFn = (url, init) => fetch(url, init)) {}

  /** Forgets cached answers, so the next calls read what TensorBoard has now. */
  clearCache(): void {
    this.cache.clear();
  }

  /**
   * Forgets the cached answers that hold data of any of `runs` (e.g. the runs a poll of
   * /runs found changed), and answers about every run; the other runs' answers stay, so
   * a chart asks only for the runs that changed.
   */
  forgetRuns(runs: Iterable<string>): void {
    const changed = new Set(runs);
    for (const key of [...this.cache.keys()]) {
      const named = key.startsWith("[")
        ? [(JSON.parse(key) as unknown[])[3] as string]
        : new URLSearchParams(key.split("?")[1] ?? "").getAll("run");
      if (!named.length || named.some((r) => changed.has(r))) this.cache.delete(key);
    }
  }

  /** GETs a JSON route; a 4xx/5xx answer becomes an ApiError with the server's message. */
  async getJson<T>(route: string, params: Record<string, ParamValue> = {}, signal?: AbortSignal): Promise<T> {
    const url = routeUrl(route, params);
    let response: Response;
    try {
      response = await this.fetchFn(url, { signal, headers: { Accept: "application/json" } });
    } catch (e) {
      if (isAbort(e)) throw e;
      throw new ApiError(url, 0, `Could not reach TensorBoard (${String(e)}). Is it still running?`);
    }
    const text = await response.text();
    if (!response.ok) {
      let message = text.trim() || response.statusText;
      try {
        const body = JSON.parse(text) as { error?: unknown };
        if (typeof body.error === "string") message = body.error;
      } catch {
        // Not JSON (e.g. TensorBoard's own 404 page for an unknown route): keep the text.
      }
      throw new ApiError(url, response.status, message);
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(url, response.status, `The answer of ${url} is not JSON: ${text.slice(0, 200)}`);
    }
  }

  /**
   * Cached GET. Cached requests are not aborted by a stale ticket: another
   * view may be waiting on the same promise, and the answer stays useful.
   */
  private cached<T>(route: string, params: Record<string, ParamValue>): Promise<T> {
    const key = routeUrl(route, params);
    let p = this.cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = this.getJson<T>(route, params);
      this.cache.set(key, p);
      // A failed request is not remembered: the next call tries again.
      p.catch(() => {
        if (this.cache.get(key) === p) this.cache.delete(key);
      });
    }
    return p;
  }

  /** `GET /runs`, never cached: it is how a refresh learns about new data. */
  runs(signal?: AbortSignal): Promise<RunsResponse> {
    return this.getJson<RunsResponse>("runs", {}, signal);
  }

  overview(runs: readonly string[]): Promise<OverviewResponse> {
    return this.cached("overview", { run: runs });
  }

  /** `GET /alerts` of `runs` (every run when empty). */
  alerts(runs: readonly string[]): Promise<AlertsResponse> {
    return this.cached("alerts", { run: runs });
  }

  /**
   * One weight's series in each of `runs` (null for a run without the weight), only the
   * `fields` named (every field when empty). Runs are cached one by one: only the runs not
   * asked for before are requested, with one `/weight_series_multi` per 100 of them.
   */
  weightSeriesMulti(
    weight: string,
    runs: readonly string[],
    fields: readonly WeightStatsField[] = [],
  ): Promise<(RunSeriesEntry<WeightStatsField> | null)[]> {
    return this.multi<WeightStatsField, WeightSeriesMultiResponse>("weight_series_multi", { weight }, runs, fields);
  }

  /** The model-wide series of each of `runs`, as weightSeriesMulti, from `/model_series_multi`. */
  modelSeriesMulti(
    runs: readonly string[],
    fields: readonly ModelStatsField[] = [],
  ): Promise<(RunSeriesEntry<ModelStatsField> | null)[]> {
    return this.multi<ModelStatsField, ModelSeriesMultiResponse>("model_series_multi", {}, runs, fields);
  }

  private multi<F extends string, R extends { series: RunSeriesEntry<F>[]; missing: string[] }>(
    route: string,
    params: Record<string, string>,
    runs: readonly string[],
    fields: readonly F[],
  ): Promise<(RunSeriesEntry<F> | null)[]> {
    const f = fieldsParam(fields);
    const key = (run: string) => JSON.stringify([route, params, f, run]);
    const todo = [...new Set(runs)].filter((run) => !this.cache.has(key(run)));
    for (const chunk of runChunks(todo)) {
      const split = this.getJson<R>(route, { ...params, run: chunk, fields: f || undefined }).then((answer) =>
        seriesByRun(chunk, answer),
      );
      for (const run of chunk) {
        const k = key(run);
        const p = split.then((byRun) => byRun.get(run) ?? null);
        this.cache.set(k, p);
        // A failed request is not remembered: the next call tries again.
        p.catch(() => {
          if (this.cache.get(k) === p) this.cache.delete(k);
        });
      }
    }
    return Promise.all(runs.map((run) => this.cache.get(key(run)) as Promise<RunSeriesEntry<F> | null>));
  }

  /** `GET /config`: the run's configuration; an ApiError with status 404 when it has none. */
  config(run: string): Promise<RunConfig> {
    return this.cached("config", { run });
  }

  /** `GET /sensitivity`: the sensitivity scans of every run holding one. */
  sensitivity(): Promise<SensitivityResponse> {
    return this.cached("sensitivity", {});
  }

  metrics(run: string): Promise<MetricsResponse> {
    return this.cached("metrics", { run });
  }

  histograms(run: string, weight: string): Promise<HistogramsResponse> {
    return this.cached("histograms", { run, weight });
  }

  maskSteps(run: string, weight: string): Promise<MaskStepsResponse> {
    return this.cached("mask_steps", { run, weight });
  }

  /** `GET /mask_convergence`: every recorded mask's distance from the last one, per run. */
  maskConvergence(weight: string, runs: readonly string[]): Promise<MaskConvergenceResponse> {
    return this.cached("mask_convergence", { weight, run: runs });
  }

  /** `GET /mask_overlap`: the IoU of the runs' kept sets, last and over steps. */
  maskOverlap(weight: string, runs: readonly string[]): Promise<MaskOverlapResponse> {
    return this.cached("mask_overlap", { weight, run: runs });
  }

  /** `GET /mask`: not cached (large), aborted when the ticket goes stale. */
  mask(
    q: {
      run: string;
      weight: string;
      step: number;
      diff: boolean;
      region: Region | null;
      maxCells: number;
      compareRun?: string | null;
    },
    signal?: AbortSignal,
  ): Promise<MaskResponse> {
    return this.getJson<MaskResponse>(
      "mask",
      {
        run: q.run,
        weight: q.weight,
        step: q.step,
        diff: q.diff,
        row0: q.region?.row0,
        col0: q.region?.col0,
        rows: q.region?.rows,
        cols: q.region?.cols,
        max_cells: q.maxCells,
        compare_run: q.compareRun ?? undefined,
      },
      signal,
    );
  }
}

/** The CSV download link for the selected runs. */
export function overviewCsvUrl(runs: readonly string[]): string {
  return routeUrl("overview.csv", { run: runs });
}

/**
 * Answers kept by key around what is shown, e.g. the masks at the steps next to
 * the current one, so that stepping to them draws without waiting. `get`
 * starts a request or reuses the one for that key; `keep` aborts and forgets
 * the requests still in flight whose key is not wanted any more (the user
 * moved on); at most `capacity` finished answers are kept, the least recently
 * used going first. A failed or aborted request is forgotten.
 */
export class RequestWindow<T> {
  private readonly entries = new Map<string, { promise: Promise<T>; controller: AbortController; done: boolean }>();

  constructor(private readonly capacity: number) {}

  /** The answer for `key`: the kept one, or `start(signal)`'s. */
  get(key: string, start: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const kept = this.entries.get(key);
    if (kept) {
      this.entries.delete(key);
      this.entries.set(key, kept);
      return kept.promise;
    }
    const controller = new AbortController();
    const entry = { promise: start(controller.signal), controller, done: false };
    this.entries.set(key, entry);
    entry.promise.then(
      () => {
        entry.done = true;
        this.trim();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.promise;
  }

  /** Whether an answer for `key` has arrived and is kept. */
  has(key: string): boolean {
    return this.entries.get(key)?.done === true;
  }

  /** Aborts and forgets the requests in flight whose key is not in `keys`. */
  keep(keys: Iterable<string>): void {
    const wanted = new Set(keys);
    for (const [key, entry] of [...this.entries]) {
      if (!entry.done && !wanted.has(key)) {
        this.entries.delete(key);
        entry.controller.abort();
      }
    }
  }

  /** Aborts everything in flight and forgets every answer. */
  clear(): void {
    for (const entry of this.entries.values()) entry.controller.abort();
    this.entries.clear();
  }

  private trim(): void {
    const done = [...this.entries].filter(([, e]) => e.done);
    for (const [key] of done.slice(0, Math.max(0, done.length - this.capacity))) this.entries.delete(key);
  }
}
