import { describe, expect, it } from "vitest";
import { LoadQueue } from "../src/transforms/load_queue";

describe("LoadQueue", () => {
  it("test_items_come_in_page_order_each_once", () => {
    const q = new LoadQueue(["a", "b", "c"]);
    expect([q.take(), q.take(), q.size, q.take(), q.take()]).toEqual(["a", "b", 1, "c", undefined]);
  });
  it("test_bumped_items_go_next_in_the_given_order_and_taken_ones_are_ignored", () => {
    const q = new LoadQueue(["a", "b", "c", "d", "e"]);
    expect(q.take()).toBe("a");
    q.bump(["d", "a", "e", "d"]);
    expect([q.take(), q.take(), q.take(), q.take(), q.take()]).toEqual(["d", "e", "b", "c", undefined]);
  });
});
