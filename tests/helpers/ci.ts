import type { TestContext } from 'vitest';

/**
 * True under .ci/run (VIREO_CI=1): CI installs every system package the environment-gated tests use
 * (libonnx-testdata, dataset-fashion-mnist, chromium, python3-torch), so a missing one there is a failure.
 */
export const inCi = process.env.VIREO_CI === '1';

/** Skips a test whose environment is missing, outside CI; in CI the same absence fails it. */
export function requireInCi(ctx: TestContext, missing: string): void {
  if (inCi) throw new Error(`${missing}: CI provides it (.ci/run installs it), so this test must run there`);
  ctx.skip(missing);
}
