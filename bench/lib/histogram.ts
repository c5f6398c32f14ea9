// A latency histogram with logarithmic buckets, in the spirit of HdrHistogram: fixed memory (a few
// thousand counters) however many samples, constant-time record(), and percentiles accurate to under
// 1 % of the value. A plain array of samples would need hundreds of megabytes for an l1-hit row,
// which completes millions of operations per second.
//
// Values are integer nanoseconds. Below 256 ns every value has its own bucket; above, each power of
// two is split into 128 equal buckets, so a bucket is at most 1/128 of its value wide.

const SUB_BUCKET_BITS = 7;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS; // 128 buckets per power of two
const LINEAR_LIMIT = SUB_BUCKETS * 2; // values below this get one bucket each
/** Enough buckets for values up to 2^53 ns (about 104 days). */
const BUCKET_COUNT = LINEAR_LIMIT + (53 - SUB_BUCKET_BITS - 1) * SUB_BUCKETS;

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKET_COUNT);
  private total = 0;
  private maxValue = 0;

  /** Number of recorded values. */
  get count(): number {
    return this.total;
  }

  /** The largest recorded value, exactly. */
  get max(): number {
    return this.maxValue;
  }

  /** Records one value in nanoseconds (negative values count as 0, fractions are truncated). */
  record(nanoseconds: number): void {
    const value = nanoseconds > 0 ? Math.floor(nanoseconds) : 0;
    this.counts[bucketOf(value)] += 1;
    this.total += 1;
    if (value > this.maxValue) this.maxValue = value;
  }

  /**
   * The value at percentile `p` (0–100] in nanoseconds: the middle of the bucket holding the p-th
   * percentile sample, capped at the recorded maximum. 0 when nothing was recorded.
   */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) {
      seen += this.counts[bucket];
      if (seen >= rank) return Math.min(middleOf(bucket), this.maxValue);
    }
    return this.maxValue;
  }
}

function bucketOf(value: number): number {
  if (value < LINEAR_LIMIT) return value;
  const exponent = value < 2 ** 32 ? 31 - Math.clz32(value) : Math.floor(Math.log2(value));
  const shift = exponent - SUB_BUCKET_BITS;
  const mantissa = Math.floor(value / 2 ** shift); // in [128, 255]
  const bucket = LINEAR_LIMIT + (exponent - SUB_BUCKET_BITS - 1) * SUB_BUCKETS + (mantissa - SUB_BUCKETS);
  return Math.min(bucket, BUCKET_COUNT - 1);
}

function middleOf(bucket: number): number {
  if (bucket < LINEAR_LIMIT) return bucket;
  const offset = bucket - LINEAR_LIMIT;
  const exponent = Math.floor(offset / SUB_BUCKETS) + SUB_BUCKET_BITS + 1;
  const mantissa = (offset % SUB_BUCKETS) + SUB_BUCKETS;
  const width = 2 ** (exponent - SUB_BUCKET_BITS);
  return mantissa * width + width / 2;
}
