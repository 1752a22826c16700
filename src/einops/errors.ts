/** A pattern that is malformed, or that doesn't fit the tensor or the axis lengths it is applied with. */
export class EinopsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EinopsError';
  }
}
