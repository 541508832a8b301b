import { readFileSync } from 'node:fs';
import { fixturePath } from './models.js';

/** tests/fixtures/train/*.json, written by scripts/make_train_fixtures.py with PyTorch. */
export function trainFixture<T>(name: string): T {
  return JSON.parse(readFileSync(fixturePath(`train/${name}`), 'utf8')) as T;
}
