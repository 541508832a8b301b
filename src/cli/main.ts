// The `vireo` command (bin/vireo.js launches it). Exit codes: 0 ok, 1 failed, 2 bad usage.
import { benchCommand } from './bench.js';
import { type Io, UsageError, consoleIo } from './args.js';
import { demoCommand, demoHelp } from './demo.js';
import { infoCommand, infoHelp } from './info.js';
import { packageVersion } from './package.js';
import { stopCalibrations } from '../scheduler/schedule.js';
import { trainCommand, trainHelp } from './train.js';
import { evalCommand, evalHelp } from './eval.js';
import { predictCommand, predictHelp } from './predict.js';

export const help = `usage: vireo <command> [options]

Commands:
  train   train a CNN (default: small-cnn on the embedded Fashion-MNIST subset); writes a model directory
  eval    accuracy, per-class precision/recall/F1 and the confusion matrix of a trained or imported model
  predict top-k classes of images (PNG/JPEG) or dataset files with a trained or imported model
  import  convert an ONNX model to a model directory (class names, normalization, input size optional)
  demo    serve the web app (classify, teach from the camera, benchmark) on localhost and print its URL
  info    runtime, WebAssembly SIMD / relaxed-SIMD support, and which wasm build runs
  bench   the benchmark: each wasm build vs tfjs-backend-wasm, per layer, and the machine's SIMD peak

Run \`vireo <command> --help\` for a command's options. \`vireo --version\` prints the version.`;

const commands: Record<string, { run: (argv: string[], io: Io) => Promise<number>; help?: string }> = {
  train: { run: trainCommand, help: trainHelp },
  eval: { run: evalCommand, help: evalHelp },
  predict: { run: predictCommand, help: predictHelp },
  demo: { run: demoCommand, help: demoHelp },
  info: { run: infoCommand, help: infoHelp },
  bench: { run: benchCommand },
  import: {
    run: (argv, io) => import('./import.js').then((m) => m.importCommand(argv, io)),
    help: 'usage: vireo import MODEL.onnx --out DIR [--classes A,B,… | --classes-file FILE] [--mean M,… --std S,…] [--input-size H,W] [--json]\n(converts an ONNX model; vireo import --help for details)',
  },
};

export async function run(argv: string[], io: Io = consoleIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    io.out(topic && commands[topic]?.help ? (commands[topic].help as string) : help);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    io.out(packageVersion());
    return 0;
  }
  const command = commands[name];
  if (!command) {
    io.err(`vireo: unknown command '${name}'\n\n${help}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`vireo ${name}: ${err.message}`);
      if (command.help) io.err(`\n${command.help}`);
      return 2;
    }
    io.err(`vireo ${name}: ${(err as Error)?.message ?? String(err)}`);
    return 1;
  } finally {
    // A GPU still being calibrated for `auto` stops with the command (what it measured is cached), so the
    // process does not stay alive timing it for a model it no longer runs.
    stopCalibrations();
  }
}
