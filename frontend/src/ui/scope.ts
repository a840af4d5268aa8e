// What a view leaves behind (charts, timers, observers) is registered here
// and released when the view is replaced, so nothing keeps drawing into a
// detached element or keeps a timer running for a view nobody sees.

export class Scope {
  private cleanups: (() => void)[] = [];

  /** Registers a cleanup to run on dispose(). */
  add(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  /** Runs every cleanup once, newest first. */
  dispose(): void {
    const fns = this.cleanups.reverse();
    this.cleanups = [];
    for (const fn of fns) {
      try {
        fn();
      } catch (e) {
        console.error("pruning plugin: cleanup failed", e);
      }
    }
  }
}
