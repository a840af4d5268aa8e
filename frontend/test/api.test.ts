import { describe, expect, it } from "vitest";
import { Api, ApiError, Generation, overviewCsvUrl } from "../src/api";
import { MODEL_SERIES_MULTI, RUNS, WEIGHT_SERIES_MULTI } from "./fixtures";

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
  it("test_weight_series_multi_asks_once_per_new_run_with_the_fields_and_caches_each_run", async () => {
    const { fn, calls } = fakeFetch({
      "./weight_series_multi?weight=dense%2Fkernel&run=tfmot_poly&run=empty_run&run=manual_const&fields=mask_changed%2Csparsity%2Ctarget_sparsity":
        () => Response.json(WEIGHT_SERIES_MULTI),
      "./weight_series_multi?weight=dense%2Fkernel&run=late&fields=mask_changed%2Csparsity%2Ctarget_sparsity": () =>
        Response.json({ weight: "dense/kernel", series: [], missing: ["late"] }),
    });
    const api = new Api(fn);
    const fields = ["sparsity", "target_sparsity", "mask_changed"] as const;
    const first = await api.weightSeriesMulti("dense/kernel", ["tfmot_poly", "empty_run", "manual_const"], fields);
    expect(first.map((s) => s && s.run)).toEqual(["tfmot_poly", null, "manual_const"]);
    expect(first[0]!.steps).toEqual([0, 10, 20, 30]);
    // The cached runs are not asked for again; only the new one is.
    const second = await api.weightSeriesMulti("dense/kernel", ["manual_const", "late", "tfmot_poly"], fields);
    expect(second.map((s) => s && s.run)).toEqual(["manual_const", null, "tfmot_poly"]);
    expect(second[0]).toBe(first[2]);
    expect(calls.length).toBe(2);
    expect(calls[1]).toBe("./weight_series_multi?weight=dense%2Fkernel&run=late&fields=mask_changed%2Csparsity%2Ctarget_sparsity");
  });
  it("test_model_series_multi_splits_runs_by_100_and_forgets_a_failed_request", async () => {
    const runs = Array.from({ length: 150 }, (_, i) => `r${i}`);
    const calls: string[] = [];
    let fail = true;
    const api = new Api(async (url: string) => {
      calls.push(url);
      const asked = new URL(url, "http://x/").searchParams.getAll("run");
      if (fail && asked.length === 50) return Response.json({ error: "busy" }, { status: 503 });
      return Response.json({ series: [], missing: asked });
    });
    await expect(api.modelSeriesMulti(runs, ["global_sparsity"])).rejects.toBeInstanceOf(ApiError);
    expect(calls.map((u) => new URL(u, "http://x/").searchParams.getAll("run").length)).toEqual([100, 50]);
    expect(calls[0]!.startsWith("./model_series_multi?run=r0&run=r1&")).toBe(true);
    expect(calls[0]!.endsWith("&run=r99&fields=global_sparsity")).toBe(true);
    fail = false;
    expect(await api.modelSeriesMulti(runs, ["global_sparsity"])).toEqual(new Array(150).fill(null));
    // Only the failed chunk's runs were asked for again.
    expect(calls.length).toBe(3);
    expect(new URL(calls[2]!, "http://x/").searchParams.getAll("run")[0]).toBe("r100");
    // Other fields are other answers; no fields asks for all of them.
    await api.modelSeriesMulti(["r0"]);
    expect(calls[3]).toBe("./model_series_multi?run=r0");
    expect(MODEL_SERIES_MULTI.series[0]!.fields.global_sparsity).toEqual([0.0, 0.3, 0.5]);
  });
  it("test_forget_runs_drops_only_answers_about_those_runs_or_all_runs", async () => {
    const calls: string[] = [];
    const api = new Api(async (url: string) => {
      calls.push(url);
      const asked = new URL(url, "http://x/").searchParams.getAll("run");
      if (url.startsWith("./overview")) return Response.json({ rows: [], runs: [] });
      if (url.startsWith("./metrics")) return Response.json({ run: asked[0], epoch: {}, batch: {} });
      return Response.json({ series: [], missing: asked });
    });
    const load = () =>
      Promise.all([api.modelSeriesMulti(["a", "b"], ["global_sparsity"]), api.metrics("a"), api.metrics("b"), api.overview([])]);
    await load();
    expect(calls.length).toBe(4);
    api.forgetRuns(["b"]);
    await load();
    expect(calls.slice(4)).toEqual(["./model_series_multi?run=b&fields=global_sparsity", "./metrics?run=b", "./overview"]);
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
