import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UserError } from '../src/errors.js';
import { createSweep } from '../src/sweep/create.js';
import { type CreateFlags, defineSweep } from '../src/sweep/definition.js';
import { gridPoints, parseGridFlag, splitList } from '../src/sweep/grid.js';
import { drawSettings, parseRandomFlag } from '../src/sweep/random-search.js';
import { arraySpec, batchScript, shellQuote } from '../src/sweep/slurm-script.js';
import { vit } from './helpers/cli.js';

/** `vit sweep create` and the pieces it is made of; nothing here trains. */
const roots: string[] = [];
after(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

async function baseConfig(): Promise<{ root: string; config: string }> {
  const root = await mkdtemp(join(tmpdir(), 'vit-sweep-define-'));
  roots.push(root);
  const config = join(root, 'base.json');
  await writeFile(config, JSON.stringify({ seed: 5, model: { dim: 16, depth: 2, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 }, train: { epochs: 2 } }));
  return { root, config };
}

test('a grid is every combination, the first key slowest; commas inside brackets stay in their value', () => {
  assert.deepEqual(parseGridFlag('optimizer.betas=[0.9,0.99],[0.9,0.999]'), { key: 'optimizer.betas', values: ['[0.9,0.99]', '[0.9,0.999]'] });
  assert.deepEqual(gridPoints([parseGridFlag('a=1,2'), parseGridFlag('b=x,y')]), [
    { a: '1', b: 'x' },
    { a: '1', b: 'y' },
    { a: '2', b: 'x' },
    { a: '2', b: 'y' },
  ]);
  assert.deepEqual(splitList('"a,b",c', 'x'), ['"a,b"', 'c']);
  assert.throws(() => parseGridFlag('optimizer.lr'), /expected key=value1,value2/);
  assert.throws(() => parseGridFlag('optimizer.lr=1e-3,,2e-3'), /an empty value/);
  assert.throws(() => parseGridFlag('optimizer.lr=1e-3,1e-3'), /1e-3 is given twice/);
  assert.throws(() => parseGridFlag('optimizer.betas=[0.9,0.99'), /unclosed bracket/);
});

test('random draws are seeded (the same command draws the same values), in range, 3 significant digits', () => {
  const axes = [parseRandomFlag('optimizer.lr=loguniform(1e-4,1e-2)'), parseRandomFlag('model.depth=randint(1,3)'), parseRandomFlag('model.pool=choice(cls,mean)')];
  const draws = drawSettings(axes, 50, 7);
  assert.deepEqual(drawSettings(axes, 50, 7), draws);
  assert.notDeepEqual(drawSettings(axes, 50, 8), draws);
  for (const d of draws) {
    const lr = Number(d['optimizer.lr']);
    assert.ok(lr >= 1e-4 && lr <= 1e-2, d['optimizer.lr']);
    assert.equal(lr, Number(lr.toPrecision(3)));
    assert.ok(['1', '2', '3'].includes(d['model.depth']));
    assert.ok(['cls', 'mean'].includes(d['model.pool']));
  }
  assert.deepEqual(new Set(draws.map((d) => d['model.depth'])), new Set(['1', '2', '3']), 'randint includes both ends');
  assert.throws(() => parseRandomFlag('optimizer.lr=loguniform(0,1)'), /loguniform needs 0 < low/);
  assert.throws(() => parseRandomFlag('optimizer.lr=normal(0,1)'), /unknown distribution normal/);
  assert.throws(() => parseRandomFlag('optimizer.lr=uniform(1)'), /expected two numbers/);
});

test('the batch script runs `vit sweep trial` on its array task, asks for requeue, and quotes what needs it', () => {
  const script = batchScript(
    { sweepDir: "/s/my sweep", outputDir: '/s/my sweep/slurm', workDir: '/w', vit: ['/usr/bin/node', '/w/dist/cli.js'], idWidth: 3 },
    { partition: 'cpu', time: '1:00:00', cpusPerTask: 4, maxParallel: null, sbatchArgs: ['--mem=4G'], dataDir: '/w/data' },
  );
  for (const line of ['#SBATCH --requeue', '#SBATCH --open-mode=append', '#SBATCH --output=/s/my sweep/slurm/%A_%3a.out', '#SBATCH --cpus-per-task=4', '#SBATCH --partition=cpu', '#SBATCH --time=1:00:00', '#SBATCH --mem=4G']) {
    assert.ok(script.split('\n').includes(line), line);
  }
  assert.match(script, /^exec \/usr\/bin\/node \/w\/dist\/cli\.js sweep trial '\/s\/my sweep' "\$SLURM_ARRAY_TASK_ID" --data-dir \/w\/data$/m);
  assert.match(script, /^export VIT_NUM_THREADS="\$\{SLURM_CPUS_PER_TASK:-1\}"$/m);
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(arraySpec([7, 0, 1, 2, 5, 8, 9]), '0-2,5,7-9');
});

test('create writes one resolved config per trial; the same command again is a no-op; a different one is refused', async () => {
  const { root, config } = await baseConfig();
  const out = join(root, 'sweeps', 'lr');
  const args = ['sweep', 'create', '--config', config, '--grid', 'optimizer.lr=1e-3,2e-3', '--grid', 'model.depth=1,2', '--seeds', '2', '--out', out];
  const created = vit(args);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /defined: 8 trials of .*base\.json: optimizer\.lr 1e-3, 2e-3 × model\.depth 1, 2 × seed 5, 6/);
  assert.deepEqual(await readdir(join(out, 'trials')), ['000', '001', '002', '003', '004', '005', '006', '007']);
  const sweep = JSON.parse(await readFile(join(out, 'sweep.json'), 'utf8'));
  assert.deepEqual(sweep.trials[3], { id: '003', setting: { 'optimizer.lr': '1e-3', 'model.depth': '2' }, seed: 6 });
  const trial = JSON.parse(await readFile(join(out, 'trials', '003', 'config.json'), 'utf8'));
  assert.equal(trial.optimizer.lr, 1e-3);
  assert.equal(trial.model.depth, 2);
  assert.equal(trial.seed, 6);
  assert.equal(trial.run_name, '003');
  assert.equal(trial.checkpoint_dir, join(out, 'checkpoints'));
  assert.equal(trial.schedule.name, 'cosine', 'defaults are filled in');

  const again = vit(args);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /already defined by this same command \(8 trials\); nothing changed/);
  assert.equal(await readFile(join(out, 'sweep.json'), 'utf8'), JSON.stringify(sweep, null, 2) + '\n', 'sweep.json untouched');

  const other = vit(args.map((a, i) => (args[i - 1] === '--seeds' ? '3' : a)));
  assert.equal(other.code, 1);
  assert.equal(other.stderr, `error: ${out} already holds a different sweep (--seeds differs): pick another --out, or add --force to replace it\n`);
});

test('--force replaces a sweep: trials whose config is unchanged keep their runs, the others lose theirs', async () => {
  const { root, config } = await baseConfig();
  const out = join(root, 'sweep');
  assert.equal(vit(['sweep', 'create', '--config', config, '--grid', 'optimizer.lr=1e-3,2e-3', '--out', out]).code, 0);
  // Stand-ins for two trained runs.
  for (const id of ['000', '001']) {
    await mkdir(join(out, 'checkpoints', id), { recursive: true });
    await writeFile(join(out, 'checkpoints', id, 'metrics.csv'), 'epoch\n');
  }
  const replaced = vit(['sweep', 'create', '--config', config, '--grid', 'optimizer.lr=1e-3,5e-3,1e-2', '--out', out, '--force']);
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.match(replaced.stdout, /replaced \(--force\): 3 trials/);
  assert.match(replaced.stdout, /1 kept their runs; removed the runs of the changed trials 001/);
  assert.ok(existsSync(join(out, 'checkpoints', '000', 'metrics.csv')), 'trial 000 (lr 1e-3) kept its run');
  assert.ok(!existsSync(join(out, 'checkpoints', '001')), 'trial 001 (2e-3 → 5e-3) lost its run');
  assert.equal(JSON.parse(await readFile(join(out, 'trials', '002', 'config.json'), 'utf8')).optimizer.lr, 1e-2);
});

test('a bad key, value or flag is one line naming it, and nothing is written', async () => {
  const { root, config } = await baseConfig();
  const out = join(root, 'bad');
  // The command as a user meets it: one line on stderr, exit 1.
  const cli = vit(['sweep', 'create', '--config', config, '--grid', 'optimizer.lrr=1e-3,2e-3', '--out', out]);
  assert.deepEqual([cli.code, cli.stdout, cli.stderr], [1, '', 'error: --grid optimizer.lrr: unknown key (optimizer has: name, lr, betas, eps, weight_decay, grad_clip, muon, sgd)\n']);
  // The other messages, through the same functions the command calls.
  const cases: [Partial<CreateFlags>, string][] = [
    [{ grid: ['optimizer.lr=1e-3,-1'] }, 'trial 001 (optimizer.lr=-1 seed=5): optimizer.lr: Too small: expected number to be >0'],
    [{ grid: ['train.epochs=2,many'] }, '--grid train.epochs: expected a number, got "many"'],
    [{ grid: ['model.pool=cls,max'] }, 'trial 001 (model.pool=max seed=5): model.pool: Invalid option: expected one of "cls"|"mean"'],
    [{ grid: ['run_name=a,b'] }, "--grid/--random run_name: the sweep sets it (each trial's run is checkpoints/NNN in the sweep folder)"],
    [{ seeds: '0' }, '--seeds 0: expected a whole number, at least 1'],
    [{ seeds: '2', grid: ['seed=1,2'] }, '--seeds and --grid seed=…: give the seeds one way'],
    [{ random: ['optimizer.lr=loguniform(1e-4,1e-2)'] }, '--random needs --trials N: how many settings to draw'],
    [{ grid: ['optimizer.lr=1e-3'], random: ['optimizer.lr=uniform(0,1)'], trials: '2' }, 'optimizer.lr is swept twice (give each key in one --grid or --random)'],
    [{}, 'nothing to sweep: give --grid key=v1,v2,…, --seeds N or --random key=distribution with --trials N'],
    [{ config: join(root, 'nope.json'), seeds: '2' }, `config file not found: ${join(root, 'nope.json')}`],
  ];
  for (const [flags, message] of cases) {
    await assert.rejects(
      async () => createSweep(out, await defineSweep({ config, ...flags }), false),
      (err: unknown) => err instanceof UserError && err.message === message,
      message,
    );
  }
  assert.ok(!existsSync(out), 'nothing was written');

  // A folder of something else is never written into.
  await mkdir(join(root, 'taken'));
  await writeFile(join(root, 'taken', 'notes.txt'), 'mine');
  await assert.rejects(createSweep(join(root, 'taken'), await defineSweep({ config, seeds: '2' }), true), {
    message: `--out ${join(root, 'taken')}: the folder exists and holds no sweep.json; pick a new or empty folder`,
  });
  assert.deepEqual(await readdir(join(root, 'taken')), ['notes.txt']);
});

test('random search: --trials settings drawn, each with every seed; re-running draws the same', async () => {
  const { root, config } = await baseConfig();
  const out = join(root, 'random');
  const args = ['sweep', 'create', '--config', config, '--random', 'optimizer.lr=loguniform(1e-4,1e-2)', '--random', 'model.depth=randint(1,3)', '--trials', '3', '--seeds', '2', '--out', out];
  const result = vit(args);
  assert.equal(result.code, 0, result.stderr);
  const trials = JSON.parse(await readFile(join(out, 'sweep.json'), 'utf8')).trials as { setting: Record<string, string>; seed: number }[];
  assert.equal(trials.length, 6);
  assert.deepEqual(trials.map((t) => t.seed), [5, 6, 5, 6, 5, 6]);
  assert.deepEqual(trials[0].setting, trials[1].setting, 'the seeds of one setting share it');
  assert.match(vit(args).stdout, /nothing changed/);
});
