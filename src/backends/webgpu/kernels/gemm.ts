// The tiled GEMM every WebGPU matrix kernel is built from: C[z][M×N] = A[z][M×K] · B[z][K×N], where the
// caller supplies how an element of A and B is read (so im2col, transposes and the transposed convolution
// are folded into the tile loads, never materialized) and how a result is stored (the fused bias +
// activation epilogue). z batches independent problems (convolution groups).
//
// A workgroup owns a BM×BN output tile: per K-step it stages a BM×BK slice of A and a BK×BN slice of B in
// workgroup memory, then each invocation accumulates an RM×RN register tile from them. An invocation's
// rows and columns are strided by the thread grid (row ty + i·TY, column tx + j·TX), so neighbouring
// invocations read neighbouring workgroup-memory words and store neighbouring columns.
//
// Split K: when the output has too few tiles to fill a GPU (fc1 at batch 1, a convolution's weight
// gradient with K = batch × spatial), K is cut into S slices run by separate workgroups. Each writes its
// partial tile to scratch; a second pass sums the S partials in slice order (fixed, so results are
// deterministic run to run — no float atomics) and applies the epilogue.
//
// What is compiled in, and what is a uniform: the source (and so the pipeline, cached by source) holds
// only what decides the code's shape — the tile (BM, BN, BK, RM, RN), the caller's load/store functions
// (so the activation, a 1×1 convolution's plain loads, the loads' direction along K), whether each
// operand's tile loads go four at a time (`tileLoad4`) and whether K is split at all. Every size (M, N, K, Z, the slice count and length, the grid's y extent, the caller's own
// shapes) is a uniform, `u.M` …, so convolutions that differ only in shape share one pipeline.
import type { PreparedKernel } from '../../backend.js';
import { type GpuContext, type Pass, type TiledPass, f, foldedGroups } from '../program.js';
import { type Shapes, consts, programKernel } from './common.js';

export interface GemmTile {
  BM: number;
  BN: number;
  BK: number;
  RM: number;
  RN: number;
}

/** Every tile stays within WebGPU's default 16 KiB of workgroup memory (A and B slices together). */
/** The general tile: 64×64 outputs per workgroup, 4×4 per invocation (256 invocations), K-step 16. */
export const TILE_64: GemmTile = { BM: 64, BN: 64, BK: 16, RM: 4, RN: 4 };
/** Few rows (a batch-1 dense layer): 8×128 outputs, 2×2 per invocation, K-step 16. */
export const TILE_THIN: GemmTile = { BM: 8, BN: 128, BK: 16, RM: 2, RN: 2 };

/** One output column (a bias gradient: a row sum): 64 rows per workgroup, one per invocation, K-step 32. */
export const TILE_COLUMN: GemmTile = { BM: 64, BN: 1, BK: 32, RM: 1, RN: 1 };

/** A depthwise weight gradient per group: one or two rows, kh·kw columns, a long K (split). */
export const TILE_NARROW: GemmTile = { BM: 4, BN: 16, BK: 64, RM: 1, RN: 1 };

/**
 * When the tiled GEMM pays: a per-group problem with at least 4 rows and a reduction of at least 4. Below
 * that (depthwise convolutions and channel multipliers: one or two output rows per group) a 64-row tile
 * would be mostly padding, and the direct one-invocation-per-output kernels stay.
 */
export const tiledPays = (rows: number, k: number): boolean => rows >= 4 && k >= 4;

/** Workgroups wanted in flight before split K stops paying (about two per SM on a large GPU). */
export const TARGET_WORKGROUPS = 256;
/** Split K never leaves a slice shorter than this many K-steps (the partials' traffic must stay small). */
const MIN_STEPS_PER_SLICE = 4;
const MAX_SLICES = 64;

export interface GemmSpec {
  M: number;
  N: number;
  K: number;
  /** Independent problems (convolution groups), each with its own A, B and output. */
  Z: number;
  /** WGSL `fn loadA(z: u32, r: u32, k: u32) -> f32`; called only for r < u.M, k < u.K. */
  loadA: string;
  /** Whether A's elements are adjacent in memory along k (then tile loads walk k fastest, coalesced). */
  aAlongK: boolean;
  /** WGSL `fn loadB(z: u32, k: u32, c: u32) -> f32`; called only for k < u.K, c < u.N. */
  loadB: string;
  bAlongK: boolean;
  /**
   * WGSL `fn addrA(z: u32, r: u32, k: u32) -> u32`, the index in `m` of A's element, where A has one (loadA
   * may call it). With it the tile loads A four elements at a time along its contiguous direction (k if
   * aAlongK, else r) — when `aFourWide` holds and the extents allow (`fourWide`).
   */
  addrA?: string;
  /**
   * Whether four consecutive elements of A along that direction, from a multiple of 4, are adjacent in
   * memory for this kernel's shapes (default true): a caller's plan-time fact beyond the extents', such as
   * a 1×1 convolution's pixels per image being a multiple of 4.
   */
  aFourWide?: boolean;
  /** `fn addrB(z: u32, k: u32, c: u32) -> u32`, as addrA for B (contiguous along k if bAlongK, else c). */
  addrB?: string;
  bFourWide?: boolean;
  /** Tests: false keeps the scalar tile loads even where the four-wide ones apply. */
  vec4?: boolean;
  /** WGSL `fn store(z: u32, r: u32, c: u32, acc: f32)`; called once per output, r < u.M, c < u.N. */
  store: string;
  /** WGSL shared by both passes: the helpers loadA/loadB/store use (compile-time facts only). */
  prelude: string;
  /** The caller's shapes, uniforms its functions read as `u.<NAME>` (beside the GEMM's own M, N, K, Z). */
  shapes?: Shapes;
  /** Force a tile (tests); otherwise TILE_THIN for M ≤ 8, else TILE_64. */
  tile?: GemmTile;
  /** Force the number of K slices (tests); otherwise chosen by `splitFor`. */
  slices?: number;
}

/** Options of the tiled kernels' factories (tests force the scalar tile loads with `vec4: false`). */
export interface TiledOptions {
  vec4?: boolean;
}

export interface GemmPlan {
  passes: (TiledPass | Pass)[];
  /** Every size the passes read as a uniform: the GEMM's and the caller's. */
  shapes: Shapes;
  /** Scratch the partials need (0 without split K); the scratch offset goes in the uniform field `sk`. */
  scratchBytes: number;
  slices: number;
  tile: GemmTile;
  /** Whether A's and B's tiles are staged four elements per load (`tileLoad4`). */
  vec4: { a: boolean; b: boolean };
}

/** How many K slices: enough workgroups to fill the GPU, never slices under MIN_STEPS_PER_SLICE K-steps. */
export function splitFor(tiles: number, k: number, bk: number): number {
  if (tiles >= TARGET_WORKGROUPS) return 1;
  const byWork = Math.floor(k / (MIN_STEPS_PER_SLICE * bk));
  return Math.max(1, Math.min(Math.ceil(TARGET_WORKGROUPS / tiles), byWork, MAX_SLICES));
}

const cdiv = (a: number, b: number) => Math.ceil(a / b);

/**
 * WGSL that stages one operand's tile into `dst` (k-major: dst[kk * extent + o]), where `o` is the tile's
 * row (A) or column (B) and `kk` its k. Outside the matrix (or the K slice) the tile holds zeros.
 */
function tileLoad(dst: string, extent: number, bk: number, alongK: boolean, inRange: string, value: string): string {
  // The flat index `e` walks the operand's contiguous direction, so consecutive invocations load
  // consecutive words.
  const split = alongK ? `let kk = e % ${bk}u; let o = e / ${bk}u;` : `let o = e % ${extent}u; let kk = e / ${extent}u;`;
  return `for (var e = lid; e < ${extent * bk}u; e += NT) {
      ${split}
      let gk = k0 + kk;
      var v: f32 = 0.0;
      if (gk < kEnd && ${inRange}) { v = ${value}; }
      ${dst}[kk * ${extent}u + o] = v;
    }`;
}

/**
 * The same staging, four consecutive elements per load along the operand's contiguous direction: one
 * address computed (`addr`: the im2col index arithmetic, divisions by uniform shapes included) for four
 * words instead of one, a quarter of the loop trips, and the words read into a vec4 in registers.
 *
 * They are four scalar reads from adjacent addresses, not one 16-byte load: WebGPU gives a dispatch no
 * second, vec4-typed view of the memory buffer (a writable storage binding may not alias another binding
 * of the same buffer — Dawn rejects it at dispatch — and a read-only one may not share a usage scope with
 * it), and vireo keeps all of a plan's tensors in that one buffer. Hence also no need for 16-byte aligned
 * offsets. What is needed is that every group of four is whole: the extent along that direction (K, or
 * M / N) and the tile's are multiples of 4, so the bounds test on a group's first element covers all four
 * (a K slice starts and ends at multiples of BK, itself a multiple of 4).
 */
function tileLoad4(dst: string, extent: number, bk: number, alongK: boolean, inRange: string, addr: string): string {
  const split = alongK
    ? `let kk = (e % ${bk / 4}u) * 4u; let o = e / ${bk / 4}u;`
    : `let o = (e % ${extent / 4}u) * 4u; let kk = e / ${extent / 4}u;`;
  const stores = [0, 1, 2, 3]
    .map((j) => (alongK ? `${dst}[(kk + ${j}u) * ${extent}u + o] = v[${j}];` : `${dst}[kk * ${extent}u + o + ${j}u] = v[${j}];`))
    .join('\n      ');
  return `for (var e = lid; e < ${(extent * bk) / 4}u; e += NT) {
      ${split}
      let gk = k0 + kk;
      var v = vec4<f32>(0.0);
      if (gk < kEnd && ${inRange}) {
        let a = ${addr};
        v = vec4<f32>(m[a], m[a + 1u], m[a + 2u], m[a + 3u]);
      }
      ${stores}
    }`;
}

/** Whether an operand's tile loads go four at a time: its addresses allow it and every group of four is whole. */
function fourWide(
  spec: GemmSpec,
  addr: string | undefined,
  contiguous: boolean | undefined,
  alongK: boolean,
  extent: number,
  tileExtent: number,
  bk: number,
): boolean {
  if (spec.vec4 === false || addr === undefined || contiguous === false) return false;
  return alongK ? spec.K % 4 === 0 && bk % 4 === 0 : extent % 4 === 0 && tileExtent % 4 === 0;
}

export function gemmPasses(spec: GemmSpec): GemmPlan {
  const { M, N, K, Z } = spec;
  const tile = spec.tile ?? (M <= 8 ? TILE_THIN : TILE_64);
  const { BM, BN, BK, RM, RN } = tile;
  const TX = BN / RN;
  const TY = BM / RM;
  const gx = cdiv(N, BN);
  const gy = cdiv(M, BM);
  const slices = spec.slices ?? splitFor(gx * gy * Z, K, BK);
  // Each slice covers a whole number of K-steps; the last may be shorter (or the count may shrink).
  const chunk = cdiv(cdiv(K, slices), BK) * BK;
  const S = cdiv(K, chunk);
  const own: Shapes = { M, N, K, Z, S, KCHUNK: chunk, GY: gy };
  for (const name of Object.keys(spec.shapes ?? {})) {
    if (name in own) throw new Error(`internal: GEMM caller shape '${name}' collides with the GEMM's own`);
  }
  const shapes: Shapes = { ...spec.shapes, ...own };
  const shared = `${spec.prelude}
${spec.store}`;
  const vec4 = {
    a: fourWide(spec, spec.addrA, spec.aFourWide, spec.aAlongK, M, BM, BK),
    b: fourWide(spec, spec.addrB, spec.bFourWide, spec.bAlongK, N, BN, BK),
  };
  const loadA = vec4.a
    ? tileLoad4('As', BM, BK, spec.aAlongK, 'row0 + o < u.M', 'addrA(z, row0 + o, gk)')
    : tileLoad('As', BM, BK, spec.aAlongK, 'row0 + o < u.M', 'loadA(z, row0 + o, gk)');
  const loadB = vec4.b
    ? tileLoad4('Bs', BN, BK, spec.bAlongK, 'col0 + o < u.N', 'addrB(z, gk, col0 + o)')
    : tileLoad('Bs', BN, BK, spec.bAlongK, 'col0 + o < u.N', 'loadB(z, gk, col0 + o)');
  // Whether K is split changes the code (partials to scratch, a second pass); the slice count does not.
  const finish =
    S === 1 ? 'store(z, r, c, acc[i * RN + j]);' : 'm[u.sk + ((s * u.Z + z) * u.M + r) * u.N + c] = acc[i * RN + j];';
  const code = `${shared}
${spec.addrA ?? ''}
${spec.addrB ?? ''}
${vec4.a ? '' : spec.loadA}
${vec4.b ? '' : spec.loadB}
${consts({ BM, BN, BK, RM, RN, TX, TY, NT: TX * TY })}
${foldedGroups}
var<workgroup> As: array<f32, ${BM * BK}>;
var<workgroup> Bs: array<f32, ${BN * BK}>;
@compute @workgroup_size(${TX}, ${TY})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u) {
  let tx = lid3.x;
  let ty = lid3.y;
  let lid = ty * TX + tx;
  let col0 = wid.x * BN;
  let row0 = gridY(wid) * BM;
  let zs = gridZ(wid);
  let z = zs % u.Z;
  let s = zs / u.Z;
  let kBegin = s * u.KCHUNK;
  let kEnd = min(u.K, kBegin + u.KCHUNK);
  var acc: array<f32, ${RM * RN}>;
  for (var k0 = kBegin; k0 < kEnd; k0 += BK) {
    ${loadA}
    ${loadB}
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var a: array<f32, ${RM}>;
      var b: array<f32, ${RN}>;
      for (var i = 0u; i < RM; i++) { a[i] = As[kk * BM + ty + i * TY]; }
      for (var j = 0u; j < RN; j++) { b[j] = Bs[kk * BN + tx + j * TX]; }
      for (var i = 0u; i < RM; i++) {
        for (var j = 0u; j < RN; j++) { acc[i * RN + j] = fma(a[i], b[j], acc[i * RN + j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < RM; i++) {
    let r = row0 + ty + i * TY;
    if (r >= u.M) { continue; }
    for (var j = 0u; j < RN; j++) {
      let c = col0 + tx + j * TX;
      if (c >= u.N) { continue; }
      ${finish}
    }
  }
}`;
  const passes: GemmPlan['passes'] = [{ code, groups: [gx, gy, Z * S] }];
  if (S > 1) {
    // The fixed-order reduction: one invocation per output, partials summed in slice order.
    passes.push({
      threads: Z * M * N,
      body: `${shared}
fn body(i: u32) {
  let c = i % u.N;
  let r = (i / u.N) % u.M;
  let z = i / (u.N * u.M);
  var acc: f32 = 0.0;
  for (var s = 0u; s < u.S; s++) { acc += m[u.sk + ((s * u.Z + z) * u.M + r) * u.N + c]; }
  store(z, r, c, acc);
}`,
    });
  }
  return { passes, shapes, scratchBytes: S > 1 ? 4 * S * Z * M * N : 0, slices: S, tile, vec4 };
}

/**
 * A prepared kernel over a tiled GEMM: `fields` are the caller's uniforms (offsets its loadA/loadB/store
 * read), `values` fills them; the scratch offset for split K is appended as `sk`.
 */
export function gemmKernel(
  ctx: GpuContext,
  label: string,
  fields: readonly string[],
  spec: GemmSpec,
  values: (inputs: readonly number[], output: number) => number[],
): PreparedKernel & { ready: Promise<void>; label: string } {
  const plan = gemmPasses(spec);
  return programKernel(
    ctx,
    `${label} (tiled ${plan.tile.BM}×${plan.tile.BN}, ${plan.slices} K slice${plan.slices > 1 ? 's' : ''}${plan.vec4.a || plan.vec4.b ? `, 4-wide loads ${plan.vec4.a ? 'A' : ''}${plan.vec4.b ? 'B' : ''}` : ''})`,
    [...fields, 'sk'],
    plan.passes,
    (inputs, output, scratch) => [...values(inputs, output), f(scratch)],
    { scratchBytes: plan.scratchBytes, shapes: plan.shapes },
  );
}
