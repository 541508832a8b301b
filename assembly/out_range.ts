// Which output positions of a strided window read inside the input along one axis: the ranges that let
// convolution and pooling loops run without bounds checks. @inline, so each kernel gets them as if written
// in place (the hot loops of col2im, depthwise convolution and pooling call them once per row or tap).

/** First output index o ≥ 0 with o·s + off ≥ 0 (off = k·dil − pad: a tap's offset from the window start). */
// @ts-ignore: decorator
@inline export function lowOut(off: i32, s: i32): i32 {
  return off >= 0 ? 0 : (-off + s - 1) / s;
}

/** One past the last output index o < outSize with o·s + off ≤ size − 1. */
// @ts-ignore: decorator
@inline export function highOut(off: i32, s: i32, size: i32, outSize: i32): i32 {
  const room = size - 1 - off;
  if (room < 0) return 0;
  const e = room / s + 1;
  return e < outSize ? e : outSize;
}
