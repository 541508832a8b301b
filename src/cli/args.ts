import { parseArgs as nodeParseArgs, type ParseArgsConfig } from 'node:util';

/** Bad usage: the command exits with status 2 and prints its help. */
export class UsageError extends Error {}

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const consoleIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

type Options = NonNullable<ParseArgsConfig['options']>;
type ParsedArgs<O extends Options> = ReturnType<typeof nodeParseArgs<{ args: string[]; options: O; strict: true }>>;

/**
 * `--epochs -1` as `--epochs=-1`: node:util's parseArgs refuses a value that starts with '-' ("argument is
 * ambiguous"), so a negative number would get Node's message instead of the option's own range check.
 */
export function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const spec = a.startsWith('--') ? options[a.slice(2)] : undefined;
    if (spec?.type === 'string' && i + 1 < argv.length && /^-[\d.]/.test(argv[i + 1])) {
      out.push(`${a}=${argv[i + 1]}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** node:util parseArgs in strict mode, with its errors turned into UsageError. */
export function parseArgs<O extends Options>(argv: string[], options: O): ParsedArgs<O> {
  try {
    return nodeParseArgs({ args: joinNegativeValues(argv, options), options, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Plain decimal integers only: Number() would also take '0x1', '1e3', ' 2 ' and ''. */
export function intOption(value: string | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${value}'`);
  return n;
}
