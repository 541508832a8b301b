// Loading state dicts as PyTorch does: small_net.safetensors was written from torch's model.state_dict()
// by scripts/make_fixtures.py (BatchNorm's num_batches_tracked as int64 I64, as
// safetensors.torch.save_file writes it).
import { describe, expect, it } from 'vitest';
import { StateDictError, tensor } from '../src/index.js';
import { readFixture, smallNet } from './helpers/models.js';
import { expectClose } from './helpers/random.js';

describe('loadStateDict with PyTorch-made state dicts', () => {
  const file = readFixture('small_net.safetensors').tensors;
  const io = readFixture('small_net.io.safetensors').tensors;
  const counters = [...file.keys()].filter((k) => k.endsWith('num_batches_tracked'));

  it('takes the int64 num_batches_tracked of a torch-written file as the integer it is', async () => {
    expect(counters.length).toBeGreaterThan(0);
    const net = smallNet();
    net.loadStateDict(file);
    const sd = net.stateDict();
    for (const k of counters) {
      expect(sd[k].integer, k).toBe(true);
      expect(sd[k].dataSync()[0], k).toBe(file.get(k)?.dataSync()[0]);
      expect(sd[k].dataSync()[0], k).toBeGreaterThan(0);
    }
  });

  it('fills a missing num_batches_tracked with 0 under strict, as torch.load_state_dict does for a plain dict', async () => {
    const without = new Map([...file].filter(([k]) => !counters.includes(k)));
    const net = smallNet();
    net.loadStateDict(without);
    const sd = net.stateDict();
    for (const k of counters) expect(sd[k].dataSync()[0], k).toBe(0);
    // The counter does not enter eval-mode outputs: the model still matches PyTorch.
    await net.to('reference');
    net.eval();
    const x = io.get('__input__');
    const y = io.get('__output__');
    if (!x || !y) throw new Error('fixture lacks __input__/__output__');
    const out = await net.forward(tensor(x.dataSync().slice(), x.shape));
    expectClose(await out.data(), y.dataSync(), 1e-4, 1e-4, 'small_net without num_batches_tracked');
    net.releasePlans();
  });

  it('still refuses any other missing buffer', () => {
    const without = new Map(file);
    without.delete('bn0.running_mean');
    expect(() => smallNet().loadStateDict(without)).toThrow(StateDictError);
    expect(() => smallNet().loadStateDict(without)).toThrow(/missing: bn0\.running_mean/);
  });
});
