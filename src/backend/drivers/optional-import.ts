/** The outcome of importing a package that may legitimately be absent. */
export type OptionalImport =
  | { status: 'loaded'; module: unknown }
  | { status: 'missing' }
  | { status: 'failed'; message: string };

/**
 * Imports `specifier` at run time, so that a backend's package (and its native library) is only
 * loaded when that backend is probed. "Not installed" is told apart from "installed but broken"
 * (e.g. libtensorflow or CUDA libraries missing), because the fixes differ.
 */
export async function importOptional(specifier: string): Promise<OptionalImport> {
  try {
    return { status: 'loaded', module: await import(specifier) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = (err as { code?: unknown }).code;
    // Only the package itself being absent counts as missing; a missing dependency of it is a failure.
    const notFound = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    if (notFound && message.includes(`'${specifier}'`)) return { status: 'missing' };
    return { status: 'failed', message: message.split('\n')[0] };
  }
}
