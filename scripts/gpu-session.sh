#!/usr/bin/env bash
# The GPU session for bench/gpu.mjs in two steps, so the device time goes to measuring only.
#
#   here, once:            bash scripts/gpu-session.sh prepare
#       builds vireo, bundles bench/gpu.mjs into one CommonJS file and packs it with Node, Dawn and the
#       Vulkan loader into .gpu/ (git-ignored; the shared GPU tools' prepare.sh).
#   on the GPU machine:    bash scripts/gpu-session.sh run [bench args]      (carry .gpu along)
#       runs the bundle: reference CNN and MobileNet-style, forward b1/32/256, training b32/256, vireo and
#       tfjs-backend-webgpu interleaved; prints the table and writes $OUT/gpu-bench.json.
#   then, if time is left: bash scripts/gpu-session.sh placement      (carry .gpu along)
#       the scheduler's table: auto against wasm (threads) and webgpu alone, reference CNN and MobileNet-style,
#       batch 1, 32 and 256, forward and training, with the cost model's error; writes $OUT/gpu-placement.json.
#   on any machine with many cores (the device machine has 16): bash scripts/gpu-session.sh threads [args]
#       the wasm thread-scaling curve (bench/threads.mjs, vireo only): reference CNN forward b1/b32 and the
#       training step b32 at 1, 2, 4, 8 and 16 threads; writes $OUT/threads-curve.json.
#   smoke test here:       bash scripts/gpu-session.sh smoke [--placement]
#       the same bundle on SwiftShader at tiny batches (end to end only; its times mean nothing).
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
# Inside the project (git-ignored) so that a smoke run resolves the `webgpu` package from node_modules.
bundle=$root/.gpu-build/vireo-gpu-bench.cjs
threads_bundle=$root/.gpu-build/vireo-threads-bench.cjs
tools=${VIREO_GPU_TOOLS:-$root/../shared/tools/gpu}

build_bundle() {
  mkdir -p .gpu-build
  grep -qx '/.gpu-build/' "$(git rev-parse --git-path info/exclude)" 2>/dev/null ||
    echo '/.gpu-build/' >> "$(git rev-parse --git-path info/exclude)"
  npm run build >/dev/null
  npx esbuild bench/gpu.mjs --bundle --platform=node --format=cjs --external:webgpu --external:sharp \
    --log-level=warning --outfile="$bundle"
  npx esbuild bench/threads-bundle.mjs --bundle --platform=node --format=cjs --external:onnxruntime-web \
    --external:@tensorflow/* --log-level=error --outfile="$threads_bundle"
}

case "${1:-}" in
  prepare)
    build_bundle
    # The shared prepare.sh writes .git/info/exclude, which is not a directory in a git worktree: run a
    # copy (next to its run.sh) that asks git where the exclude file is.
    tmp=$(mktemp -d)
    cp "$tools/prepare.sh" "$tools/run.sh" "$tmp/"
    sed -i 's#\.git/info/exclude#"$(git rev-parse --git-path info/exclude)"#g' "$tmp/prepare.sh"
    bash "$tmp/prepare.sh" "$bundle" "$threads_bundle"
    rm -rf "$tmp"
    echo "ready: run 'bash scripts/gpu-session.sh run' on the GPU machine with .gpu carried along"
    ;;
  run)
    shift
    out=${OUT:-$root/bench/results}
    mkdir -p "$out"
    # A bounded run: the bench itself stops on its own; timeout is a guard against a hung driver.
    OUT=$out timeout 480 bash .gpu/run.sh vireo-gpu-bench.cjs --out "$out/gpu-bench.json" "$@"
    ;;
  placement)
    shift
    out=${OUT:-$root/bench/results}
    mkdir -p "$out"
    OUT=$out timeout 540 bash .gpu/run.sh vireo-gpu-bench.cjs --placement --out "$out/gpu-placement.json" "$@"
    ;;
  threads)
    shift
    out=${OUT:-$root/bench/results}
    mkdir -p "$out"
    # vireo only (the peers' wasm files are not packed): their 2-thread figures come from npm run bench.
    OUT=$out timeout 540 bash .gpu/run.sh vireo-threads-bench.cjs --threads 1,2,4,8,16 --no-peer \
      --out "$out/threads-curve.json" "$@"
    ;;
  smoke)
    shift
    build_bundle
    out=${OUT:-/tmp/vireo-gpu-smoke}
    mkdir -p "$out"
    LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-/usr/lib/chromium} \
      VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json} XDG_RUNTIME_DIR=/tmp \
      node "$bundle" --smoke --out "$out/gpu-bench.json" "$@"
    ;;
  *)
    echo "usage: bash scripts/gpu-session.sh prepare | run [bench args] | placement [bench args] | threads [bench args] | smoke [bench args]" >&2
    exit 2
    ;;
esac
