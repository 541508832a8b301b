// Pieces every benchmark script shares: the command-line options and the median.

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
