import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Refused } from './served-folders.js';

/** Larger than any photo a phone takes; the image is shrunk to 32×32 anyway. */
export const UPLOAD_LIMIT_BYTES = 20 * 1024 * 1024;

/**
 * Images dropped on the Try-it view: each is written to a private temp folder (so that the
 * compute process reads it exactly as `vit predict` reads a file) and deleted after its
 * prediction; the folder is removed when the server stops, even on Ctrl-C.
 */
export class Uploads {
  private count = 0;

  private constructor(readonly dir: string) {}

  static async create(): Promise<Uploads> {
    const uploads = new Uploads(await mkdtemp(join(tmpdir(), 'vit-serve-uploads-')));
    // The last resort (an exit that skips close()); the sync call is all an 'exit' handler may do.
    process.once('exit', () => rmSync(uploads.dir, { recursive: true, force: true }));
    return uploads;
  }

  /** Reads the request body into a new file, refusing it (413) beyond the limit. */
  async save(req: IncomingMessage): Promise<string> {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > UPLOAD_LIMIT_BYTES) throw tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > UPLOAD_LIMIT_BYTES) throw tooLarge();
      chunks.push(chunk);
    }
    if (size === 0) throw new Refused('empty upload: send the image file as the request body', 400);
    const path = join(this.dir, `upload-${++this.count}`);
    await writeFile(path, Buffer.concat(chunks), { mode: 0o600 });
    return path;
  }

  async remove(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

function tooLarge(): Refused {
  return new Refused(`image too large (the limit is ${UPLOAD_LIMIT_BYTES / 1024 / 1024} MB)`, 413);
}
