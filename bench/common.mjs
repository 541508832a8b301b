// Pieces every benchmark script shares: the command-line options, the median, number and table formatting,
// the reference CNN (built through the package's nn, which each script imports itself), writing
// the result file and running as a command.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';

export const BUILDS = ['relaxed', 'simd', 'scalar'];

export class UsageError extends Error {}

/** --quick, --json, --out FILE, --no-peer, --builds LIST, --help; `out` is the script's default result file. */
export function parseBenchArgs(argv, out) {
  const opts = { quick: false, json: false, out, peer: true, builds: BUILDS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--json') opts.json = true;
    else if (a === '--no-peer') opts.peer = false;
    else if (a === '--out' && i + 1 < argv.length) opts.out = argv[++i];
    else if (a === '--builds' && i + 1 < argv.length) {
      opts.builds = argv[++i].split(',').filter(Boolean);
      const bad = opts.builds.filter((b) => !BUILDS.includes(b));
      if (bad.length) throw new UsageError(`unknown build(s): ${bad.join(', ')} (known: ${BUILDS.join(', ')})`);
    } else if (a === '--help' || a === '-h') opts.help = true;
    else throw new UsageError(`unknown option '${a}'`);
  }
  return opts;
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const f1 = (x) => (x == null ? '-' : x.toFixed(1));
export const f2 = (x) => (x == null ? '-' : x.toFixed(2));

/** A text table: right-aligned columns unless `align[i]` is 'l'. */
export function table(headers, rows, align) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => (align?.[i] === 'l' ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * The reference CNN (the classic CIFAR-10 network), its layers named as in vireo's design. Written out with
 * the `nn` it is given rather than taken from `models.cifarNet`: compare-builds.mjs builds it with the `nn`
 * of an earlier revision, which may predate the model zoo.
 */
export function referenceCnn(nn) {
  return new nn.Sequential({
    conv1: new nn.Conv2d(3, 64, 3, { padding: 1 }),
    relu1: new nn.ReLU(),
    pool1: new nn.MaxPool2d(2),
    conv2: new nn.Conv2d(64, 128, 3, { padding: 1 }),
    relu2: new nn.ReLU(),
    pool2: new nn.MaxPool2d(2),
    conv3: new nn.Conv2d(128, 256, 3, { padding: 1 }),
    relu3: new nn.ReLU(),
    pool3: new nn.MaxPool2d(2),
    flatten: new nn.Flatten(),
    fc1: new nn.Linear(4096, 1024),
    relu4: new nn.ReLU(),
    fc2: new nn.Linear(1024, 512),
    relu5: new nn.ReLU(),
    fc3: new nn.Linear(512, 10),
  });
}

/** Writes a benchmark's result as indented JSON, creating the folder. */
export function writeJson(path, value) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Runs `main` when the script at `moduleUrl` is the one node was started with: exit status 0/1 from
 * `main`, 2 for a UsageError (printed with `usage`), 1 for anything else thrown.
 */
export function runIfMain(moduleUrl, main, name, usage) {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      if (err instanceof UsageError) {
        console.error(`${name}: ${err.message}\n\n${usage}`);
        process.exitCode = 2;
      } else {
        console.error(err?.stack ?? err);
        process.exitCode = 1;
      }
    },
  );
}
