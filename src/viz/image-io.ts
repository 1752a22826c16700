import sharp from 'sharp';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';

/** An 8-bit RGB image, row-major, 3 bytes per pixel (the layout of a CIFAR-10 record in NHWC). */
export interface RgbImage {
  width: number;
  height: number;
  pixels: Uint8Array;
}

/**
 * Reads a PNG or JPEG as `size`×`size` RGB, the way a classifier's user expects: EXIF rotation
 * applied, transparency flattened onto white, greyscale expanded to RGB, and a non-square image
 * centre-cropped to a square (torchvision's Resize + CenterCrop) with an antialiased Lanczos
 * resize. An image that is already `size`×`size` is not resampled at all, so a PNG copy of a
 * CIFAR-10 image gives back its exact bytes.
 */
export async function readImageRgb(path: string, size: number): Promise<RgbImage> {
  try {
    let image = sharp(path, { failOn: 'error' }).autoOrient();
    const { width, height } = await image.metadata();
    if (width !== size || height !== size) image = image.resize(size, size, { fit: 'cover', kernel: 'lanczos3' });
    const { data, info } = await image.flatten({ background: '#ffffff' }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { width: info.width, height: info.height, pixels: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (err) {
    if (err instanceof UserError) throw err;
    const reason = (err as Error).message.split('\n')[0];
    throw new UserError(`${path}: not a readable PNG or JPEG image (${reason})`);
  }
}

/** Encodes RGB pixels as PNG and writes them atomically. */
export async function writePng(path: string, image: RgbImage): Promise<void> {
  await writeFileAtomic(path, await encodePng(image));
}

export async function encodePng(image: RgbImage): Promise<Buffer> {
  return sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
}
