// Data access: one function per route of tb_prune_plugin/http_api.md, JSON
// decoding, the server's error messages, a per-refresh cache, and the guard
// that lets a view drop a response that arrives after the user moved on.

import { routeUrl, type ParamValue } from "./transforms/query";
import type {
  HistogramsResponse,
  MaskResponse,
  MaskStepsResponse,
  MetricsResponse,
  ModelSeriesResponse,
  OverviewResponse,
  Region,
  RunsResponse,
  WeightSeriesResponse,
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

  weightSeries(run: string, weight: string): Promise<WeightSeriesResponse> {
    return this.cached("weight_series", { run, weight });
  }

  modelSeries(run: string): Promise<ModelSeriesResponse> {
    return this.cached("model_series", { run });
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

  /** `GET /mask`: not cached (large), aborted when the ticket goes stale. */
  mask(
    q: { run: string; weight: string; step: number; diff: boolean; region: Region | null; maxCells: number },
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
 * Runs `task` for each item with at most `limit` in flight (the browser
 * queues more than ~6 per origin anyway, and this keeps the order of arrival
 * closer to the order shown). Results keep the items' order; failures are
 * returned, not thrown, so one bad weight does not blank the others.
 */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<({ ok: true; value: R } | { ok: false; error: unknown })[]> {
  const results: ({ ok: true; value: R } | { ok: false; error: unknown })[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { ok: true, value: await task(items[i]!) };
      } catch (error) {
        results[i] = { ok: false, error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
