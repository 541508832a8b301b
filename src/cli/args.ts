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

/** node:util parseArgs in strict mode, with its errors turned into UsageError. */
export function parseArgs<O extends Options>(argv: string[], options: O): ParsedArgs<O> {
  try {
    return nodeParseArgs({ args: argv, options, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function intOption(value: string | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${value}'`);
  return n;
}
