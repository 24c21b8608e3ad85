/*
 * Every fuzz target: one per decoder a device runs on what it receives or reads back.
 * `npm run fuzz` runs them a million inputs each (tools/fuzz/fuzz.ts); the vitest test
 * test/unit/tools/fuzz-targets-reach-every-decoder-and-find-no-failure.test.ts runs a few
 * thousand each, and `npm run fuzz:coverage` measures the branches those reach
 * (tools/fuzz/coverage.ts, docs/fuzzing.md).
 */
import type { Target } from "./runner";
import { authTarget, missingTarget, msgTarget, st7580Target, transparentTarget } from "./wire";
import { appHeaderTarget, checkpointTarget, configTarget, imageFileTarget, keystoreTarget, meterFileTarget, recordLogTarget, sessionTarget, storeTarget } from "./stored";

export const TARGETS: Target[] = [
  msgTarget, st7580Target, transparentTarget, missingTarget, authTarget,
  imageFileTarget, configTarget, appHeaderTarget, sessionTarget, recordLogTarget, checkpointTarget, keystoreTarget, meterFileTarget, storeTarget,
];

export function targetNamed(name: string): Target | undefined {
  return TARGETS.find((t) => t.name === name);
}
