/**
 * Why an image was refused before it was hashed. Refusal is a result the filter turns into a
 * `drop` with a PROTOCOL.md code (images fail closed: never delivered unchecked); the reason says
 * which check fired, for metrics and tests (match on `reason`/`code`, not on the text).
 */

/** Which check refused the image. */
export type ImageErrorReason =
  /** No bytes at all. */
  | 'empty'
  /** More bytes than `maxBytes`. */
  | 'too_many_bytes'
  /** The header's width × height is over `maxPixels`, or a side is over `maxSide`. */
  | 'too_many_pixels'
  /** Far more pixels than bytes (a decompression bomb, or a blank canvas not worth decoding). */
  | 'bomb'
  /** Not one of the accepted formats (SVG, TIFF, PDF... are refused: costly or scriptable). */
  | 'unsupported_format'
  /** The bytes are not an image, or decoding failed (truncated, corrupt, lying header). */
  | 'corrupt';

/** The PROTOCOL.md error code the gateway answers with. */
export type ImageErrorCode = 'invalid' | 'too_large';

const CODE: Record<ImageErrorReason, ImageErrorCode> = {
  empty: 'invalid',
  too_many_bytes: 'too_large',
  too_many_pixels: 'too_large',
  bomb: 'invalid',
  unsupported_format: 'invalid',
  corrupt: 'invalid',
};

export class ImageError extends Error {
  override readonly name = 'ImageError';
  /** PROTOCOL.md code for the reply. */
  readonly code: ImageErrorCode;

  constructor(
    readonly reason: ImageErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = CODE[reason];
  }
}

export function isImageError(e: unknown): e is ImageError {
  return e instanceof ImageError;
}
