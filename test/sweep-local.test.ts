import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { vit } from './helpers/cli.js';

/**
 * `vit sweep run` on this machine: four tiny trainings (a 2-block ViT on synthetic images, 3
 * epochs) two at a time; the same sweep interrupted with Ctrl-C and run again, ending with the
 * same weights; and a sweep with a failing trial, whose reason is recorded while the others finish.
 */
let root: string;
let dataDir: string;
let config: string;
const GRID = ['--grid', 'optimizer.lr=1e-3,3e-3', '--seeds', '2'];
const TRIALS = ['000', '001', '002', '003'];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-sweep-local-'));
  dataDir = join(root, 'data');
  await writeSyntheticCifar10(dataDir, { perBatch: 100, seed: 0 });
  config = join(root, 'tiny.json');
  await writeFile(
    config,
    JSON.stringify({
      data: { limit_test: 50 },
      model: { dim: 16, depth: 2, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 },
      train: { epochs: 3, batch_size: 10, eval_batch_size: 50 },
      early_stopping: { enabled: false },
    }),
  );
});
after(() => rm(root, { recursive: true, force: true }));

const weights = (sweep: string, id: string) => readFile(join(sweep, 'checkpoints', id, 'last', 'weights.safetensors'));

test('--parallel 2 trains four trials two at a time, the cores split between them; status and report read them', async () => {
  const sweep = join(root, 'parallel');
  assert.equal(vit(['sweep', 'create', '--config', config, ...GRID, '--out', sweep]).code, 0);
  const run = vit(['sweep', 'run', sweep, '--parallel', '2', '--data-dir', dataDir]);
  assert.equal(run.code, 0, run.stderr);
  const threads = Math.max(1, Math.floor(availableParallelism() / 2));
  const split = availableParallelism() >= 2 ? `2 at a time, ${threads} of ${availableParallelism()} cores each (VIT_NUM_THREADS=${threads})` : '2 at a time on 1 cores';
  assert.ok(run.stdout.split('\n')[0].includes(`4 trials, 0 done; 4 to run; ${split}`), run.stdout.split('\n')[0]);
  // Two at a time: the third trial starts only after one of the first two is done.
  const lines = run.stdout.split('\n');
  const third = lines.findIndex((l) => /^00[23] start/.test(l));
  assert.ok(lines.slice(0, third).some((l) => /^00[01] done/.test(l)), run.stdout);
  for (const id of TRIALS) {
    assert.match(run.stdout, new RegExp(`^${id} done   best val_acc \\d+\\.\\d\\d% \\(3 epochs`, 'm'));
    assert.ok(existsSync(join(sweep, 'checkpoints', id, 'best', 'weights.safetensors')));
    assert.equal(JSON.parse(await readFile(join(sweep, 'trials', id, 'outcome.json'), 'utf8')).outcome, 'done');
  }
  assert.match(run.stdout, /: 4 of 4 done, 0 failed;/);

  const status = vit(['sweep', 'status', sweep]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /: 4 trials of .*tiny\.json: 4 done\n/);
  assert.match(status.stdout, /^trial +optimizer\.lr +seed +state +epoch +best val_acc +minutes$/m);
  assert.match(status.stdout, /^003 +3e-3 +1 +done +3\/3 +\d+\.\d\d% +\d+\.\d$/m);

  const report = vit(['sweep', 'report', sweep]);
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stdout, /2 settings × up to 2 seeds, 4 of 4 trials done/);
  assert.match(report.stdout, /^ +1 +(1e-3|3e-3) +2\/2 +\d+\.\d\d% ± \d+\.\d\d/m);
  assert.match(report.stdout, /^ {2}vit train --config \S+tiny\.json --set optimizer\.lr=(1e-3|3e-3)$/m);
  const csv = (await readFile(join(sweep, 'leaderboard.csv'), 'utf8')).split('\n');
  assert.equal(csv[0], 'rank,optimizer.lr,seeds_done,seeds,val_acc_mean,val_acc_std,val_acc_min,val_acc_max,minutes_mean');
  assert.equal(csv.filter(Boolean).length, 3);
  assert.equal((await readFile(join(sweep, 'trials.csv'), 'utf8')).split('\n').filter(Boolean).length, 5);
  const png = await readFile(join(sweep, 'report.png'));
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
});

test('Ctrl-C stops a sweep (last/ saved, exit 130); running it again resumes the unfinished trials exactly and skips the done', async () => {
  const sweep = join(root, 'interrupted');
  assert.equal(vit(['sweep', 'create', '--config', config, ...GRID, '--out', sweep]).code, 0);
  // Interrupt once both running trials have reported their first epoch (of three): mid-run.
  const first = await runInterrupted(['sweep', 'run', sweep, '--parallel', '2', '--data-dir', dataDir], (out) => /^000 epoch 1\/3/m.test(out) && /^001 epoch 1\/3/m.test(out));
  assert.equal(first.code, 130, first.stderr);
  assert.match(first.stderr, /SIGINT: starting no new trial; the 2 running finish their step and save last\//);
  // Both, unless one was so far ahead that it finished before the other's first epoch.
  assert.match(first.stdout, /^00[01] stopped; resumes from its last\/ with: vit sweep run /m);
  assert.ok(!/^00[23] start/m.test(first.stdout), 'no trial started after Ctrl-C');

  const status = vit(['sweep', 'status', sweep]);
  assert.match(status.stdout, /: (2 stopped|1 done, 1 stopped), 2 pending\n/);
  assert.match(status.stdout, /^00[01] +1e-3 +[01] +stopped +[12]\/3 +\d+\.\d\d%/m);
  assert.match(status.stdout, /^002 +3e-3 +0 +pending +0\/3 +- +-$/m);

  const second = vit(['sweep', 'run', sweep, '--parallel', '2', '--data-dir', dataDir]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /(4 to run, 2 resume|3 to run, 1 resumes) from last\//);
  assert.match(second.stdout, /^00[01] resume (after epoch [12]|in epoch [23] at step \d+)  optimizer\.lr=1e-3 seed=[01]$/m);
  assert.ok(!/^00[01] start/m.test(second.stdout), 'a stopped trial resumes, it does not start over');

  // The same weights as the uninterrupted sweep's, bit for bit, for every trial.
  for (const id of TRIALS) assert.ok((await weights(sweep, id)).equals(await weights(join(root, 'parallel'), id)), `trial ${id}`);

  const third = vit(['sweep', 'run', sweep, '--data-dir', dataDir]);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stdout, /4 trials, 4 done: nothing to run/);
});

test('a failing trial is marked failed with its one-line reason while the others finish', async () => {
  const good = join(root, 'parallel', 'checkpoints', '000');
  const sweep = join(root, 'failing');
  const missing = join(root, 'no-such-checkpoint');
  const create = vit(['sweep', 'create', '--config', config, '--grid', `train.init_from=${good}/last,${missing},${good}/best`, '--out', sweep]);
  assert.equal(create.code, 0, create.stderr);
  const run = vit(['sweep', 'run', sweep, '--parallel', '2', '--data-dir', dataDir]);
  assert.equal(run.code, 1, 'a sweep with a failed trial exits 1');
  const reason = `train.init_from: ${missing}: not a checkpoint directory (no config.json)`;
  assert.match(run.stdout, new RegExp(`^001 failed ${escape(reason)} \\(log: ${escape(join(sweep, 'trials', '001', 'train.log'))}\\)$`, 'm'));
  assert.match(run.stdout, /^000 done/m);
  assert.match(run.stdout, /^002 done/m);
  assert.match(run.stdout, /: 2 of 3 done, 1 failed;/);
  assert.deepEqual(JSON.parse(await readFile(join(sweep, 'trials', '001', 'outcome.json'), 'utf8')).reason, reason);

  const status = vit(['sweep', 'status', sweep]);
  assert.match(status.stdout, /: 2 done, 1 failed\n/);
  assert.ok(status.stdout.trimEnd().endsWith(`001 failed: ${reason}`), status.stdout);
  // The report ranks what finished.
  assert.match(vit(['sweep', 'report', sweep]).stdout, /2 of 3 trials done/);
});

/** Runs the CLI and sends it one SIGINT (the runner alone: not its trials) once its stdout satisfies `when`. */
async function runInterrupted(args: string[], when: (stdout: string) => boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    if (!sent && when(stdout)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
