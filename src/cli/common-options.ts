import { Option } from 'commander';
import { BACKENDS } from '../config/schema.js';

/** Options shared by train, eval and bench. */
export const dataDirOption = () =>
  new Option('--data-dir <dir>', 'dataset directory (holds or receives cifar-10-batches-bin/, cifar-100-binary/)').default('data');

export const backendOption = () =>
  new Option('--backend <name>', 'compute backend (default: the config\'s `backend`, else auto)').choices(BACKENDS);

/** Collects a repeatable `--set key=value`. */
export const setOption = () =>
  new Option('--set <key=value>', 'override a config key, e.g. --set train.epochs=10 (repeatable)').argParser(
    (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
  );
