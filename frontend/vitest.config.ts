import { defineConfig } from "vitest/config";

// The unit tests cover pure transforms only, so Node is the environment:
// no DOM emulation is needed (or installed).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});
