// The order in which a view's charts load: page order, except that a chart
// that scrolls into view goes next. Pure bookkeeping; the view supplies the
// visibility (an IntersectionObserver) and runs the loads.

/** Items waiting to load; `take()` gives the next one, each item once. */
export class LoadQueue<T> {
  private waiting: T[];

  constructor(items: readonly T[]) {
    this.waiting = [...items];
  }

  /** How many items have not been taken yet. */
  get size(): number {
    return this.waiting.length;
  }

  /** Moves `items` that are still waiting to the front, in the order given; others are ignored. */
  bump(items: readonly T[]): void {
    const front = items.filter((item, i) => this.waiting.includes(item) && items.indexOf(item) === i);
    if (!front.length) return;
    const rest = this.waiting.filter((item) => !front.includes(item));
    this.waiting = [...front, ...rest];
  }

  /** The next item to load (removed from the queue), or undefined when none is left. */
  take(): T | undefined {
    return this.waiting.shift();
  }
}
