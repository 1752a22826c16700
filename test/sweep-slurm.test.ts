import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { vit } from './helpers/cli.js';
import { SLURM_REQUIRED, type SlurmCluster, startSlurmCluster } from './helpers/slurm-cluster.js';

/**
 * `vit sweep run --slurm` against a real Slurm: slurmctld and slurmd on this machine (see
 * helpers/slurm-cluster.ts). A four-trial sweep of tiny trainings is submitted as one job array;
 * one task is cancelled mid-run (scancel: SIGTERM, vit train saves last/) and requeued (scontrol
 * requeue), and its trial ends with the weights of an uninterrupted run of it, bit for bit.
 */
const started = await startSlurmCluster();
const cluster: SlurmCluster | null = 'unavailable' in started ? null : started;
const unavailable = 'unavailable' in started ? started.unavailable : null;
const roots: string[] = [];
after(async () => {
  await cluster?.stop();
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

test(
  'a sweep as a Slurm job array: every trial trains; a cancelled and requeued task resumes from last/ to the same weights',
  { skip: unavailable && !SLURM_REQUIRED ? `Slurm cannot start here: ${unavailable}` : false },
  async () => {
    assert.ok(cluster, `VIT_REQUIRE_SLURM is set, but Slurm cannot start here: ${unavailable}`);
    const root = await mkdtemp(join(tmpdir(), 'vit-sweep-slurm-'));
    roots.push(root);
    const dataDir = join(root, 'data');
    await writeSyntheticCifar10(dataDir, { perBatch: 400, seed: 0 });
    const config = join(root, 'tiny.json');
    await writeFile(
      config,
      JSON.stringify({
        data: { limit_test: 100 },
        model: { dim: 16, depth: 2, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 },
        train: { epochs: 3, batch_size: 20, eval_batch_size: 100 },
        early_stopping: { enabled: false },
      }),
    );
    const sweep = join(root, 'sweeps', 'lr');
    assert.equal(vit(['sweep', 'create', '--config', config, '--grid', 'optimizer.lr=1e-3,3e-3', '--seeds', '2', '--out', sweep]).code, 0);

    const submit = vit(['sweep', 'run', sweep, '--slurm', '--cpus-per-task', '1', '--max-parallel', '2', '--data-dir', dataDir], cluster.env);
    assert.equal(submit.code, 0, submit.stderr);
    const jobId = /submitted 4 as job array (\d+) \(sbatch --array=0-3%2 /.exec(submit.stdout)?.[1];
    assert.ok(jobId, submit.stdout);
    const script = await readFile(join(sweep, 'slurm.sh'), 'utf8');
    assert.match(script, /^#SBATCH --requeue$/m);
    assert.match(script, /^#SBATCH --cpus-per-task=1$/m);
    assert.match(script, / sweep trial \S+ "\$SLURM_ARRAY_TASK_ID" --data-dir /);

    // Cancel trial 000's task once it has trained an epoch (of three), then requeue it.
    const log0 = join(sweep, 'trials', '000', 'train.log');
    await until(async () => /^epoch 1\/3/m.test(await readFile(log0, 'utf8').catch(() => '')), 'trial 000 trains its first epoch');
    cluster.client('scancel', [`${jobId}_0`]);
    await until(async () => taskState(cluster, `${jobId}_0`) === 'CANCELLED' && !existsSync(join(sweep, 'trials', '000', 'running.json')), 'the cancelled task ends');
    const cancelled = await readFile(log0, 'utf8');
    assert.match(cancelled, /SIGTERM: finishing the current step and saving last\//);
    assert.match(cancelled, /interrupted at epoch [23], step \d+\/100; saved /);
    assert.ok(!existsSync(join(sweep, 'trials', '000', 'outcome.json')), 'an interrupted trial has no outcome yet');
    assert.match(vit(['sweep', 'status', sweep], cluster.env).stdout, new RegExp(`^000 +1e-3 +0 +stopped +CANCELLED ${jobId}_0 +[12]/3 `, 'm'));

    cluster.client('scontrol', ['requeue', `${jobId}_0`]);
    // Slurm holds a requeued job back for a while (its begin time is set ahead); let it go now.
    cluster.client('scontrol', ['update', `JobId=${jobId}_0`, 'StartTime=now']);
    await until(async () => (await readdir(join(sweep, 'trials'))).every((id) => existsSync(join(sweep, 'trials', id, 'outcome.json'))), 'every trial ends');
    await until(async () => ['0', '1', '2', '3'].every((i) => taskState(cluster, `${jobId}_${i}`) === 'COMPLETED'), 'Slurm sees every task complete');

    const status = vit(['sweep', 'status', sweep], cluster.env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /: 4 trials of .*: 4 done\n/);
    for (const i of [0, 1, 2, 3]) assert.match(status.stdout, new RegExp(`^00${i} .* done +COMPLETED ${jobId}_${i} +3/3 +\\d+\\.\\d\\d% `, 'm'));
    assert.match(await readFile(log0, 'utf8'), /=== .* resuming \S+checkpoints\/000\/last \((after epoch [12]|in epoch [23] at step \d+)\) on .*Slurm job \d+_0/);
    const taskOutput = await readFile(join(sweep, 'slurm', `${jobId}_000.out`), 'utf8');
    assert.match(taskOutput, /trial 000 \(optimizer\.lr=1e-3 seed=0\): starting as Slurm job \d+_0/);
    assert.match(taskOutput, /trial 000 \(optimizer\.lr=1e-3 seed=0\): resuming from .* as Slurm job \d+_0 \(restart 1\)/);

    const report = vit(['sweep', 'report', sweep], cluster.env);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /2 settings × up to 2 seeds, 4 of 4 trials done/);
    for (const file of ['leaderboard.csv', 'trials.csv', 'report.png']) assert.ok(existsSync(join(sweep, file)), file);
    assert.match(await readFile(join(sweep, 'trials.csv'), 'utf8'), new RegExp(`^000,1e-3,0,done,3,3,[\\d.]+,[\\d.]+,${jobId}_0,`, 'm'));

    // Trial 000 uninterrupted, here, with the same thread count as its Slurm task.
    const reference = vit(['train', '--config', join(sweep, 'trials', '000', 'config.json'), '--set', `checkpoint_dir=${join(root, 'reference')}`, '--data-dir', dataDir], { VIT_NUM_THREADS: '1' });
    assert.equal(reference.code, 0, reference.stderr);
    for (const file of ['last/weights.safetensors', 'last/optimizer.safetensors', 'best/weights.safetensors']) {
      const [requeued, straight] = await Promise.all([readFile(join(sweep, 'checkpoints', '000', file)), readFile(join(root, 'reference', '000', file))]);
      assert.ok(requeued.equals(straight), `${file} of the requeued trial differs from the uninterrupted run's`);
    }

    // Submitting again finds nothing left to do.
    assert.match(vit(['sweep', 'run', sweep, '--slurm'], cluster.env).stdout, /4 trials, 4 done: nothing to submit/);
  },
);

function taskState(c: SlurmCluster, job: string): string {
  return c.client('squeue', ['--noheader', '--states=all', `--jobs=${job}`, '--format=%T']).trim();
}

/** Polls `condition` until it holds; fails, naming what was awaited, after four minutes. */
async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 4 * 60_000;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`waited 4 minutes for: ${what}`);
    await sleep(200);
  }
}
