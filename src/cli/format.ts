/** Small formatting helpers shared by the CLI's human-readable output. */

export const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

export const lrText = (lr: number): string => lr.toExponential(2);

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}
