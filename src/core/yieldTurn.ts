/**
 * Gives the event loop one macrotask turn, so queued messages (a `cancel` or `stop` from the main thread) run
 * between steps of a long computation. Awaiting a tensor's data is not enough: on wasm and cpu it resolves as a
 * microtask, and microtasks never give the message loop a turn. A MessageChannel round trip is a macrotask without
 * setTimeout's 4 ms clamp; setTimeout is the fallback where MessageChannel is missing.
 */
export function yieldTurn(): Promise<void> {
  if (typeof MessageChannel === 'undefined') return new Promise((r) => setTimeout(r, 0));
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

/**
 * A turn long enough for a message that arrived while the thread was busy to run: one `yieldTurn`, then a short
 * timer. In Chromium's workers one macrotask turn after a long synchronous computation is not enough: a `stop`
 * posted 30 s before ran only at the next boundary, one micro-batch later (measured in the page trainer, issue
 * 26): the port's readiness is noticed in that turn and its message dispatched in a later one. Costs ~`ms` per call;
 * meant between units of work of seconds (micro-batches, feature views).
 */
export async function settleTurn(ms = 8): Promise<void> {
  await yieldTurn();
  await new Promise((r) => setTimeout(r, ms));
}
