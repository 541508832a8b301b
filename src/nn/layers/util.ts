import { ArgumentError } from '../../core/errors.js';

/** Accepts n or [h, w] like PyTorch's _pair, checking every entry is an integer ≥ min. */
export function pair(value: number | readonly number[], what: string, min = 1): [number, number] {
  const v = typeof value === 'number' ? [value, value] : [...value];
  if (v.length !== 2 || !v.every((d) => Number.isInteger(d) && d >= min)) {
    throw new ArgumentError(`${what} must be an integer ≥ ${min} or a pair of them, got ${JSON.stringify(value)}`);
  }
  return [v[0], v[1]];
}
