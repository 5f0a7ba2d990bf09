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
