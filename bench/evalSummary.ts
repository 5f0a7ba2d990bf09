/**
 * The `eval` bench section's figures from its interleaved reps (bench/eval.ts): medians of the network-only rate
 * and of the eval runs with and without prefetch, their ratios, the decode shares, and issue 14/16's verdict
 * `evalAtLeast0_9xNetwork` (eval with prefetch ≥ 0.9 × the network-only rate on the same runner).
 */

/** One timed eval run over the list. */
export interface EvalRun {
  itemsPerSecond: number;
  /** Sum of per-item decode wall times / the run's wall time. */
  decodeShareOfWall: number;
  /** Sum of the classifier's waits for frames / the run's wall time. */
  waitShareOfWall: number;
}

/** The lower median (an actual sample, not an average of two). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no samples');
  return [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
}

const r3 = (x: number) => +x.toFixed(3);

export function evalSummary(network: readonly number[], prefetch: readonly EvalRun[], noPrefetch: readonly EvalRun[]) {
  const networkRate = median(network);
  const withPrefetch = median(prefetch.map((r) => r.itemsPerSecond));
  const without = median(noPrefetch.map((r) => r.itemsPerSecond));
  return {
    networkOnlyItemsPerSecond: r3(networkRate),
    evalItemsPerSecond: r3(withPrefetch),
    evalNoPrefetchItemsPerSecond: r3(without),
    evalVsNetworkOnly: r3(withPrefetch / networkRate),
    noPrefetchVsNetworkOnly: r3(without / networkRate),
    /** Issue 16's done-when, computed on unrounded medians. */
    evalAtLeast0_9xNetwork: withPrefetch >= 0.9 * networkRate,
    reps: network.length,
    /** Without prefetch decoding is serial: its share of the wall time is the decode's share of the work. */
    decodeShareOfWall: r3(median(noPrefetch.map((r) => r.decodeShareOfWall))),
    /** With prefetch: the share of wall time the classifier still waited for frames. */
    decodeWaitShareOfWall: r3(median(prefetch.map((r) => r.waitShareOfWall))),
    target: 'evalVsNetworkOnly ≥ 0.9',
  };
}
