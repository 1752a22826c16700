import assert from 'node:assert/strict';
import { test } from 'node:test';
import { availableProbe, explicitOnlyProbe, unavailableProbe, type BackendProbe } from '../src/backend/choose/probe.js';
import { chooseBackend } from '../src/backend/choose/select.js';
import { UserError } from '../src/errors.js';

/** A machine as probing would see it: the backends listed are available, all others are not. */
function machine(available: { cuda?: true; webgpu?: 'hardware' | 'software'; tensorflow?: true; wasm?: true }): BackendProbe[] {
  const missing = (name: BackendProbe['name']) => unavailableProbe(name, `${name} is not installed`, `install ${name}`);
  return [
    available.cuda ? availableProbe('cuda', {}) : missing('cuda'),
    available.webgpu === 'hardware'
      ? availableProbe('webgpu', { adapter: 'NVIDIA H100' })
      : available.webgpu === 'software'
        ? explicitOnlyProbe('webgpu', 'llvmpipe is a software adapter', { adapter: 'llvmpipe' })
        : missing('webgpu'),
    available.tensorflow ? availableProbe('tensorflow', {}) : missing('tensorflow'),
    available.wasm ? availableProbe('wasm', {}) : missing('wasm'),
    availableProbe('cpu', {}),
  ];
}

test('auto prefers cuda when it works', () => {
  const all = machine({ cuda: true, webgpu: 'hardware', tensorflow: true, wasm: true });
  assert.equal(chooseBackend('auto', all).name, 'cuda');
});

test('auto takes a hardware webgpu adapter when cuda is missing', () => {
  assert.equal(chooseBackend('auto', machine({ webgpu: 'hardware', tensorflow: true, wasm: true })).name, 'webgpu');
});

test('auto passes over a software webgpu adapter, which still runs when asked for by name', () => {
  const probes = machine({ webgpu: 'software', wasm: true });
  assert.equal(chooseBackend('auto', probes).name, 'wasm');
  assert.equal(chooseBackend('webgpu', probes).name, 'webgpu');
});

test('auto takes tensorflow (tfjs-node) before wasm', () => {
  assert.equal(chooseBackend('auto', machine({ tensorflow: true, wasm: true })).name, 'tensorflow');
});

test('auto falls back to wasm, and to cpu when nothing else works', () => {
  assert.equal(chooseBackend('auto', machine({ wasm: true })).name, 'wasm');
  assert.equal(chooseBackend('auto', machine({})).name, 'cpu');
});

test('auto needs only the probes up to the first backend it may pick', () => {
  assert.equal(chooseBackend('auto', machine({ cuda: true }).slice(0, 1)).name, 'cuda');
});

test('a backend asked for by name but unavailable is a UserError with the reason and the fix', () => {
  assert.throws(
    () => chooseBackend('cuda', machine({ wasm: true })),
    (err: unknown) =>
      err instanceof UserError &&
      err.message === 'backend "cuda" is not available: cuda is not installed. install cuda',
  );
});
