// A small model with Dropout(p = 0.5) and a fixed run of SGD steps, shared by tests/checkpoint-dropout.test.ts
// and its child process (tests/helpers/dropout-resume-child.ts), so both train exactly the same steps.
import { Random, Tensor, nn, optim } from '../../src/index.js';
import type { GroupBase, Optimizer } from '../../src/train/optim/optimizer.js';

export type BackendName = 'reference' | 'wasm';
export const totalSteps = 6;
const batch = 4;

export function dropoutNet(): nn.Sequential {
  return new nn.Sequential({
    conv: new nn.Conv2d(1, 4, 3, { padding: 1 }),
    relu1: new nn.ReLU(),
    pool: new nn.MaxPool2d(2),
    flatten: new nn.Flatten(),
    fc1: new nn.Linear(4 * 4 * 4, 16),
    relu2: new nn.ReLU(),
    drop: new nn.Dropout(0.5),
    fc2: new nn.Linear(16, 3),
  });
}

/** Step s's batch: a pure function of s (the data order is not what this test is about). */
function batchOf(s: number): { x: Tensor; y: Tensor } {
  const r = new Random(1000 + s);
  const x = new Float32Array(batch * 8 * 8).map(() => r.uniform(-1, 1));
  const y = new Float32Array(batch).map(() => r.int(3));
  return { x: new Tensor(x, [batch, 1, 8, 8]), y: new Tensor(y, [batch]) };
}

export async function makeOptimizer(net: nn.Sequential, backend: BackendName): Promise<Optimizer<GroupBase>> {
  const opt = new optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 }) as unknown as Optimizer<GroupBase>;
  await opt.to(backend);
  return opt;
}

/** Steps [from, to) of the run; an eval pass after step 2 (validation) must not move the masks. */
export async function trainSteps(net: nn.Sequential, opt: Optimizer<GroupBase>, from: number, to: number): Promise<void> {
  const criterion = new nn.CrossEntropyLoss();
  for (let s = from; s < to; s++) {
    const { x, y } = batchOf(s);
    net.train();
    opt.zeroGrad();
    const loss = criterion.forward(await net.forward(x), y);
    await loss.backward();
    opt.step();
    if (s === 2) {
      net.eval();
      await net.forward(x);
      net.train();
    }
  }
}
