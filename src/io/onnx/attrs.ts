import type { OpAttrs, OpName } from '../../ops/types.js';
import { type Builder, UnsupportedOpError, type Val } from './builder.js';
import type { OnnxNode } from './decode.js';
import type { Const } from './fold.js';

/** Attribute readers and small helpers shared by the converter files. */

export const ints = (n: OnnxNode, key: string): number[] | undefined => n.attrs.get(key)?.ints;
export const int = (n: OnnxNode, key: string, dflt: number): number => n.attrs.get(key)?.i ?? dflt;
export const float = (n: OnnxNode, key: string, dflt: number): number => n.attrs.get(key)?.f ?? dflt;
export const str = (n: OnnxNode, key: string, dflt: string): string => n.attrs.get(key)?.s ?? dflt;
export const unsupported = (n: OnnxNode, why: string) => new UnsupportedOpError(n.opType, n.name, why);

export const all = (ins: (Val | undefined)[]): ins is Val[] => ins.every((v) => v !== undefined);
export const allConst = (ins: (Val | undefined)[]): boolean => ins.every((v) => v === undefined || v.kind === 'const');
export const cval = (v: Val): Const => (v as Extract<Val, { kind: 'const' }>).c;

/** Adds an IR node, or folds it to a constant when every input is known. */
export function addOrFold<K extends OpName>(
  b: Builder,
  n: OnnxNode,
  op: K,
  attrs: OpAttrs[K],
  ins: Val[],
  out = n.outputs[0],
): Val {
  if (ins.every((v) => v.kind === 'const'))
    return b.nodeConst(
      out,
      b.foldWithReference(n, (s) => s.add(n, op, attrs, ins)),
    );
  return b.add(n, op, attrs, ins);
}

/** x under another shape: a reshape node, or the constant with new dims. */
export function reshapeTo(b: Builder, n: OnnxNode, x: Val, dims: number[]): Val {
  if (x.kind === 'const') return b.nodeConst(n.outputs[0], { ...x.c, dims });
  return b.add(n, 'reshape', { shape: dims }, [x]);
}
