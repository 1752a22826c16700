import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A real single-node Slurm cluster on this machine, for the tests: Debian's slurm-wlm and munge
 * (`npm run setup -- --tests` installs them), everything under one temp dir: a munge key and
 * socket of its own (no system munged needed), a generated slurm.conf, slurmctld and slurmd on
 * localhost at free ports, their state, spool, logs and pid files. The plugins are those that
 * need nothing of the machine (no cgroups, no systemd): proctrack/linuxproc, task/none, no
 * accounting. Clients find it through SLURM_CONF, which `env` carries.
 */
export interface SlurmCluster {
  /** Environment for sbatch, squeue, scontrol (and `vit sweep`, which calls them). */
  env: Record<string, string>;
  dir: string;
  /** Runs a Slurm client command against this cluster; returns its stdout. */
  client(command: string, args: string[]): string;
  /** Cancels what is left, stops slurmctld, slurmd and munged, removes the temp dir. */
  stop(): Promise<void>;
}

/** CI sets VIT_REQUIRE_SLURM=1: there a cluster that cannot start fails the test instead of skipping it. */
export const SLURM_REQUIRED = /^(1|true|yes)$/i.test(process.env.VIT_REQUIRE_SLURM ?? '');

const NODE = 'vitnode';

/** Starts the cluster, or says in one line why it cannot here. */
export async function startSlurmCluster(): Promise<SlurmCluster | { unavailable: string }> {
  const missing = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel'].filter((c) => !which(c));
  if (missing.length) return { unavailable: `Slurm is not installed (no ${missing.join(', ')}): npm run setup -- --tests installs slurm-wlm and munge` };
  if (process.getuid?.() !== 0) return { unavailable: 'the test cluster runs slurmctld and slurmd as root (SlurmUser=root), and this is not root' };

  const dir = await mkdtemp(join(tmpdir(), 'vit-slurm-'));
  // munged wants every directory above its socket to be searchable by all.
  await chmod(dir, 0o755);
  for (const sub of ['munge', 'state', 'spool', 'log']) await mkdir(join(dir, sub), { mode: 0o755 });
  const socket = join(dir, 'munge', 'munge.socket');
  await writeFile(join(dir, 'munge', 'munge.key'), randomBytes(1024), { mode: 0o600 });
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'slurm.conf');
  await writeFile(conf, slurmConf(dir, socket, ctldPort, slurmdPort));
  const env = { SLURM_CONF: conf };
  const pidFiles = ['slurmd.pid', 'slurmctld.pid', join('munge', 'munged.pid')].map((f) => join(dir, f));

  const cluster: SlurmCluster = {
    env,
    dir,
    client: (command, args) => execFileSync(command, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 }),
    stop: async () => {
      spawnSync('scancel', ['--quiet', '--full', '--user=root'], { env: { ...process.env, ...env }, timeout: 30_000 });
      // Until every job has ended: slurmstepd reports to slurmctld, which must still be there.
      for (let i = 0; i < 120 && squeueLines(env).length > 0; i++) await sleep(500);
      spawnSync('scontrol', ['shutdown'], { env: { ...process.env, ...env }, timeout: 30_000 });
      for (const file of pidFiles) await stopDaemon(file);
      await rm(dir, { recursive: true, force: true });
    },
  };

  const fail = async (why: string) => {
    await cluster.stop();
    return { unavailable: why };
  };
  const munged = spawnSync(
    which('munged')!,
    [`--key-file=${join(dir, 'munge', 'munge.key')}`, `--socket=${socket}`, `--pid-file=${pidFiles[2]}`, `--log-file=${join(dir, 'munge', 'munged.log')}`, `--seed-file=${join(dir, 'munge', 'munged.seed')}`],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (munged.status !== 0) return fail(`munged did not start: ${lastLine(munged.stderr || munged.stdout)}`);
  for (const [daemon, args] of [['slurmctld', []], ['slurmd', ['-N', NODE]]] as const) {
    const started = spawnSync(which(daemon)!, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
    if (started.status !== 0) return fail(`${daemon} did not start: ${lastLine(started.stderr || started.stdout) || `exit ${started.status}`}`);
  }
  // Ready when the node has registered with the controller and is idle.
  for (let i = 0; i < 60; i++) {
    const state = spawnSync('sinfo', ['--noheader', '--format=%T', `--nodes=${NODE}`], { env: { ...process.env, ...env }, encoding: 'utf8' }).stdout?.trim();
    if (state === 'idle') return cluster;
    await sleep(500);
  }
  const log = await readFile(join(dir, 'log', 'slurmd.log'), 'utf8').catch(() => '');
  return fail(`the Slurm node did not become idle in 30 s: ${lastLine(log.split('\n').filter((l) => /error/i.test(l)).join('\n')) || 'see slurmd.log'}`);
}

function slurmConf(dir: string, socket: string, ctldPort: number, slurmdPort: number): string {
  return `# A one-node test cluster, written by test/helpers/slurm-cluster.ts.
ClusterName=vittest
SlurmctldHost=${hostname().split('.')[0]}(127.0.0.1)
SlurmctldPort=${ctldPort}
SlurmdPort=${slurmdPort}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${socket}
StateSaveLocation=${join(dir, 'state')}
SlurmdSpoolDir=${join(dir, 'spool')}
SlurmctldPidFile=${join(dir, 'slurmctld.pid')}
SlurmdPidFile=${join(dir, 'slurmd.pid')}
SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}
SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=3600
KillWait=30
NodeName=${NODE} NodeHostname=${hostname().split('.')[0]} NodeAddr=127.0.0.1 CPUs=${availableParallelism()} State=UNKNOWN
PartitionName=debug Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
`;
}

function squeueLines(env: Record<string, string>): string[] {
  const out = spawnSync('squeue', ['--noheader', '--format=%i'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  return out.status === 0 ? out.stdout.split('\n').filter(Boolean) : [];
}

/** SIGTERM to the daemon of a pid file, then SIGKILL when it has not gone within 10 s. */
async function stopDaemon(pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!pid) return;
  // A zombie (ended, not yet reaped by whoever adopted it) has gone too.
  const alive = () => existsSync(`/proc/${pid}`) ? !/^State:\s+Z/m.test(readFileSyncSafe(`/proc/${pid}/status`)) : false;
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 40 && alive(); i++) await sleep(250);
  if (alive()) process.kill(pid, 'SIGKILL');
}

/** The command's path: on PATH, or in the sbin folders where Debian puts the daemons. */
function which(command: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin'];
  return dirs.map((d) => join(d, command)).find((p) => existsSync(p)) ?? null;
}

function readFileSyncSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}
