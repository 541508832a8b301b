/**
 * Debug switches that force one path of an op's algorithm choice, read when a plan is compiled. One
 * place for all of them, so production code keeps no mutable tuning objects of its own; the A/B
 * benchmark (bench/train-ab.ts) flips them. Defaults are the measured-faster paths.
 */
export const flags = {
  /** wasm conv2d weight gradient: im2col straight into packed B panels (true) or im2col + f32_gemm (false). */
  convGradWeightPanels: true,
  /**
   * wasm threads, conv2d weight gradient: taps (K = cin/groups·kh·kw) from which each thread packs dY itself and
   * writes only its own colᵀ panels (no barrier, no shared image buffers) instead of the shared-chunk scheme.
   * At K ≥ 128 its copy of dY's pack (coutG·P floats an image) is under 1% of its GEMM work (coutG·P·K / threads
   * multiply-adds); the reference CNN's conv1 (K = 27) keeps the shared chunks. Tests set 1 to drive both.
   */
  convGradWeightOwnPanelsMinK: 128,
  /**
   * wasm threads, conv2d weight gradient under the own-panels K: rows (output channels) of dW each thread must
   * get for it to take its own rows — pack its rows of dY, im2col the image itself, multiply — with no barrier
   * and no shared image buffers, instead of the shared-chunk scheme. Its copy of im2col (K·P floats an image)
   * is small beside its rows' dY pack and GEMM when each thread has this many rows (the reference CNN's conv1:
   * 32 rows a thread at 2 threads, K = 27). Tests set 1 (drive it) or Infinity (drive the shared chunks).
   */
  convGradWeightOwnRowsMin: 8,
  /** wasm linear: pack weights with the SIMD packing kernels in wasm (true) or with the TypeScript loops (false). */
  packWeightsInWasm: true,
  /**
   * wasm threads: floats of streaming work each thread must get before an element-wise, pooling, bias-gradient,
   * packing or optimizer step is split across threads (below it the step is one call: waking a worker costs more
   * than the split saves). Tests set 1 to drive every split on small odd shapes.
   */
  threadSplitMinFloats: 1 << 15,
  /**
   * wasm threads: parts per thread a step of whole images or GEMM panels is cut into (1 to 4). With more than
   * one, a thread the OS slows or starts late holds back only its unstarted parts: the others take them.
   * 1 gives one part per thread (the A/B side of the benchmarks).
   */
  threadPartsPerThread: 4,
  /**
   * wasm threads: µs a worker spins after its last part (and the caller before it blocks on the others)
   * before blocking in Atomics.wait. A blocked worker costs the next step a notify (a system call, 8–40 µs
   * on the 2-core VM) and arrives late, and the OS may wake it on the caller's core; spinning costs the
   * idle core's time, bounded by this. Reference CNN, 2 threads, one run, medians of 21–31 interleaved
   * rounds: batch-1 forward 1.79 ms at 100 µs (the old fixed spin), 1.69 at 500, 1.60 at 1,000, 1.54 at
   * 2,000, 1.48 at 5,000 (1 thread 2.6); batch 32 and the training step move within noise.
   */
  threadSpinMicros: 1000,
  /** ONNX import: fuse GELU (Erf form), HardSwish (HardSigmoid + Mul) and SiLU (Sigmoid + Mul) chains into one kernel. */
  fuseOnnxPatterns: true,
};
