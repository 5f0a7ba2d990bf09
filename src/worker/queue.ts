/**
 * Scheduling of concurrent calls in the engine: two FIFO lanes, `decode` (demux + WebCodecs, which run off the
 * JavaScript thread) and `compute` (preprocessing and the network on the tfjs backend, one call at a time so calls
 * never fight over GPU memory). A call decodes in the decode lane, then computes in the compute lane, so the next
 * call's decoding overlaps this call's inference. A live-stream frame has nothing to decode and enters the compute
 * lane directly (`compute`). At most one decoded call waits for the compute lane, which
 * bounds the memory held by decoded frames however many calls are queued.
 */

/** A FIFO of async tasks run one at a time. */
export class Lane {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** Orders calls through the two lanes; see the file comment. */
export class CallScheduler {
  private readonly decodeLane = new Lane();
  private readonly computeLane = new Lane();
  /** Resolves when the previous call has entered (or skipped) the compute lane. */
  private previousEnteredCompute: Promise<void> = Promise.resolve();

  /**
   * Runs `decode` then `compute(decoded)`. `cleanup(decoded)` runs if the call fails between the two (so decoded
   * frames are released on abort). The returned promise settles with the call.
   */
  run<D, R>(decode: () => Promise<D>, compute: (decoded: D) => Promise<R>): Promise<R> {
    const waitForPrevious = this.previousEnteredCompute;
    let entered!: () => void;
    this.previousEnteredCompute = new Promise<void>((r) => (entered = r));
    const decoded = this.decodeLane.run(async () => {
      await waitForPrevious;
      return decode();
    });
    decoded.catch(() => entered());
    return decoded.then((d) =>
      this.computeLane.run(() => {
        entered();
        return compute(d);
      }),
    );
  }

  /** Runs `compute` in the compute lane only: work with nothing to decode (a live frame) never holds up decoding. */
  compute<R>(compute: () => Promise<R>): Promise<R> {
    return this.computeLane.run(compute);
  }
}
