/** Rounds `n` up to a multiple of `a` (a power of two or any positive integer). */
export const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;
