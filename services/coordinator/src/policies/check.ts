import { JoustingError } from '@jousting/contracts';

/**
 * Rejects a number a policy cannot work with (NaN, infinite, below `min`), naming the field, so
 * a bad setting fails where it is applied instead of turning every later wait into NaN.
 */
export function requireNumber(
  field: string,
  value: number,
  min: number,
  opts: { above?: boolean } = {},
): void {
  const ok = Number.isFinite(value) && (opts.above ? value > min : value >= min);
  if (!ok) {
    const bound = opts.above ? `greater than ${min}` : `at least ${min}`;
    throw JoustingError.validation([{ field, message: `must be a finite number ${bound}` }]);
  }
}
