/**
 * An RGB image as PIL holds one in mode "RGB": `width`·`height` pixels of three uint8 channels,
 * row-major (HWC, the layout of our CIFAR-10 arrays). The RandAugment ops read one image and write
 * another of the same size; they never work in place, so no op can read a pixel it already wrote.
 */
export interface RgbImage {
  pixels: Uint8Array;
  width: number;
  height: number;
}

export function rgbImage(width: number, height: number, pixels: Uint8Array = new Uint8Array(width * height * 3)): RgbImage {
  return { pixels, width, height };
}
