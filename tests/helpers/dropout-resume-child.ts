// Child process for tests/checkpoint-dropout.test.ts: a fresh process loads a checkpoint of the Dropout
// model, trains the remaining steps and writes its weights. It never calls manualSeed, so every mask it
// draws is decided by the checkpoint's dropout state.
import { writeFileSync } from 'node:fs';
import { writeSafetensors } from '../../src/index.js';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { type BackendName, dropoutNet, makeOptimizer, totalSteps, trainSteps } from './dropout-run.js';

const [backend, checkpointPath, outPath] = process.argv.slice(2) as [BackendName, string, string];
const ck = await loadCheckpoint(checkpointPath);
const net = dropoutNet();
await net.to(backend);
const opt = await makeOptimizer(net, backend);
net.loadStateDict(ck.model);
if (ck.optimizer) opt.loadStateDict(ck.optimizer);
if (ck.rng.dropout) net.loadRngState(ck.rng.dropout);
await trainSteps(net, opt, ck.step, totalSteps);
writeFileSync(outPath, writeSafetensors(net.stateDict()));
