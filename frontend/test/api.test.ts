import { describe, expect, it } from "vitest";
import { Api, ApiError, Generation, mapLimited, overviewCsvUrl } from "../src/api";
import { RUNS } from "./fixtures";

function fakeFetch(answers: Record<string, () => Response | Promise<Response>>) {
  const calls: string[] = [];
  const fn = async (url: string) => {
    calls.push(url);
    const answer = answers[url];
    if (!answer) return new Response("not found", { status: 404 });
    return answer();
  };
  return { fn, calls };
}

describe("Api", () => {
  it("test_json_answer_is_returned", async () => {
    const { fn, calls } = fakeFetch({ "./runs": () => Response.json(RUNS) });
    expect(await new Api(fn).runs()).toEqual(RUNS);
    expect(calls).toEqual(["./runs"]);
  });
  it("test_error_answer_carries_the_servers_message", async () => {
    const { fn } = fakeFetch({
      "./mask_steps?run=r&weight=nope": () => Response.json({ error: "no weight 'nope' in run 'r'" }, { status: 404 }),
    });
    const e = await new Api(fn).maskSteps("r", "nope").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).status).toBe(404);
    expect((e as ApiError).message).toBe("no weight 'nope' in run 'r'");
  });
  it("test_non_json_error_keeps_the_text_and_network_failure_is_status_0", async () => {
    const { fn } = fakeFetch({});
    const e = (await new Api(fn).runs().catch((x: unknown) => x)) as ApiError;
    expect([e.status, e.message]).toEqual([404, "not found"]);
    const down = new Api(async () => {
      throw new TypeError("Failed to fetch");
    });
    const e2 = (await down.runs().catch((x: unknown) => x)) as ApiError;
    expect(e2.status).toBe(0);
    expect(e2.message).toContain("Could not reach TensorBoard");
  });
  it("test_cached_routes_fetch_once_until_cleared_and_forget_failures", async () => {
    let fail = true;
    const { fn, calls } = fakeFetch({
      "./metrics?run=r": () => (fail ? new Response("{}", { status: 500 }) : Response.json({ run: "r", epoch: {}, batch: {} })),
    });
    const api = new Api(fn);
    await expect(api.metrics("r")).rejects.toBeInstanceOf(ApiError);
    fail = false;
    const a = await api.metrics("r");
    const b = await api.metrics("r");
    expect(a).toBe(b);
    expect(calls.length).toBe(2);
    api.clearCache();
    await api.metrics("r");
    expect(calls.length).toBe(3);
  });
  it("test_mask_sends_region_and_diff_parameters", async () => {
    const { fn, calls } = fakeFetch({});
    const api = new Api(fn);
    await api
      .mask({ run: "r", weight: "d/k", step: 20, diff: true, region: { row0: 1, col0: 2, rows: 3, cols: 4 }, maxCells: 100 })
      .catch(() => undefined);
    await api.mask({ run: "r", weight: "d/k", step: 0, diff: false, region: null, maxCells: 100 }).catch(() => undefined);
    expect(calls).toEqual([
      "./mask?run=r&weight=d%2Fk&step=20&diff=1&row0=1&col0=2&rows=3&cols=4&max_cells=100",
      "./mask?run=r&weight=d%2Fk&step=0&max_cells=100",
    ]);
  });
  it("test_csv_link_lists_the_selected_runs", () => {
    expect(overviewCsvUrl(["a", "b"])).toBe("./overview.csv?run=a&run=b");
  });
});

describe("Generation", () => {
  it("test_only_the_latest_ticket_is_current_and_older_ones_are_aborted", () => {
    const g = new Generation();
    const t1 = g.next();
    expect(t1.isCurrent()).toBe(true);
    const t2 = g.next();
    expect(t1.isCurrent()).toBe(false);
    expect(t1.signal.aborted).toBe(true);
    expect(t2.isCurrent()).toBe(true);
    g.cancel();
    expect(t2.isCurrent()).toBe(false);
    expect(t2.signal.aborted).toBe(true);
  });
});

describe("mapLimited", () => {
  it("test_results_keep_order_failures_are_returned_and_limit_holds", async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimited([1, 2, 3, 4, 5], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5 * (6 - n)));
      running--;
      if (n === 3) throw new Error("three");
      return n * 10;
    });
    expect(peak).toBe(2);
    expect(out.map((r) => (r.ok ? r.value : (r.error as Error).message))).toEqual([10, 20, "three", 40, 50]);
  });
});
