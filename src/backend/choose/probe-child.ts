// The child process of probeInChild(): probes one backend and prints the result as one JSON line
// on stdout. Whatever native libraries write to stderr goes to the parent's pipe, not the terminal.
import { DRIVERS } from '../drivers/index.js';
import type { ConcreteBackend } from './probe.js';

const name = process.argv[2] as ConcreteBackend;
const driver = DRIVERS[name];
if (!driver) throw new Error(`probe-child: unknown backend "${name}"`);
const probe = await driver.probe();
// Dawn's GPU instance would keep the process alive: leave as soon as the answer is out.
process.stdout.write(JSON.stringify(probe) + '\n', () => process.exit(0));
