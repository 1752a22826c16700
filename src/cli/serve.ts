import chalk from 'chalk';
import { Command, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { UserError } from '../errors.js';
import { DEFAULT_PORT, startServer } from '../serve/server.js';
import { runAction } from './run-action.js';

interface ServeFlags {
  port?: number;
  host: string;
  dataDir: string;
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('a local web page of your runs: live curves, comparisons, what a checkpoint gets wrong, and a model tried on your own images')
    .argument('[dir...]', 'folders of runs (default: checkpoints/, and sweeps/ when there is one)')
    .option('--port <n>', `port to listen on (default: the first free one from ${DEFAULT_PORT})`, port)
    .option('--host <address>', 'address to listen on; anything but 127.0.0.1 lets other machines read your runs', '127.0.0.1')
    .option('--data-dir <dir>', 'where the datasets are (cifar-10-batches-bin/, cifar-100-binary/), for a checkpoint\'s test-set analysis; nothing is downloaded', 'data')
    .addHelpText('after', '\nExamples:\n  vit serve\n  vit serve checkpoints sweeps --port 8080')
    .action(runAction(runServe));
}

async function runServe(dirs: string[], flags: ServeFlags): Promise<void> {
  if (!dirs.length && !existsSync('checkpoints')) {
    throw new UserError('no checkpoints/ folder here: train a run first (npx vit train --config configs/smoke.json), or name the folders of runs: vit serve DIR...');
  }
  const folders = dirs.length ? dirs : ['checkpoints', ...(existsSync('sweeps') ? ['sweeps'] : [])];
  const names = folders.map((f) => `${f.replace(/\/$/, '')}/`).join(', ');
  const error = (line: string) => process.stderr.write(`${chalk.red('vit serve: error:')} ${line}\n`);
  if (!['127.0.0.1', 'localhost', '::1'].includes(flags.host)) {
    process.stderr.write(`${chalk.yellow('vit serve: warning:')} --host ${flags.host} lets anyone who can reach this machine see ${names} and run its models\n`);
  }
  const server = await startServer({ dirs: folders, dataDir: flags.dataDir, host: flags.host, port: flags.port ?? null, onError: error });
  const what = `${server.runs} run${server.runs === 1 ? '' : 's'}${server.sweeps ? `, ${server.sweeps} sweep${server.sweeps === 1 ? '' : 's'}` : ''}`;
  console.log(`${chalk.bold('vit serve')} ${chalk.cyan(server.url)}  ${what} in ${names} (Ctrl-C stops)`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port number from 1 to 65535');
  return n;
}
