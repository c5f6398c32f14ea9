// Helpers of the interleaved comparison scripts (bench/<module>/interleaved.ts): each subject runs a
// short slice in turn, round after round, so load from elsewhere on a shared machine hits all of them
// alike, and the median of per-round figures is reported.

/** Operations per second of `op` with `inFlight` callers for `seconds`, after a 200 ms warm-up. */
export async function rateOf(
  op: (seq: number) => Promise<unknown>,
  seconds: number,
  inFlight: number,
): Promise<number> {
  let seq = 0;
  let running = true;
  const caller = async () => {
    while (running) await op(seq++);
  };
  const callers = Array.from({ length: inFlight }, caller);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const start = seq;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1_000));
  const rate = ((seq - start) * 1_000) / (performance.now() - started);
  running = false;
  await Promise.all(callers);
  return rate;
}

export const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[values.length >> 1] as number;
