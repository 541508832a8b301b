#!/usr/bin/env node
// Launcher for the `vireo` command (src/cli, compiled to dist/cli). A fresh source checkout has no dist/ yet:
// build it once (npm run build), so `npm ci && npx vireo demo` works without a separate build step.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  const root = new URL('..', import.meta.url);
  if (!existsSync(new URL('scripts/build-wasm.mjs', root))) {
    console.error('vireo: dist/ is missing from this install; reinstall the package (npm install vireo).');
    process.exit(1);
  }
  console.error('vireo: first run in this checkout, building dist/ (npm run build)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const built = spawnSync(npm, ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (!existsSync(main)) {
    console.error(`vireo: the build failed (status ${built.status}); run \`npm run build\` to see why.`);
    process.exit(1);
  }
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
