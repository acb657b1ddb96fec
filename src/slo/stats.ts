/**
 * Wilson score interval for a proportion (errors / requests). At low traffic it is wide, so a
 * comparison built on it does not fail a canary for one unlucky error in twenty requests, and
 * it never divides by zero. z = 1.645: one-sided 95 %.
 */
export function wilsonInterval(
  successes: number,
  trials: number,
  z = 1.645
): { low: number; high: number } {
  if (trials <= 0) return { low: 0, high: 1 }
  const p = successes / trials
  const z2 = z * z
  const denominator = 1 + z2 / trials
  const centre = (p + z2 / (2 * trials)) / denominator
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) }
}
