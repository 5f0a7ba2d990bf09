/**
 * Default locations of the tfjs WASM binaries. The build copies them next to the compiled worker (dist/worker/),
 * and these `new URL('./…wasm', import.meta.url)` references are the pattern Vite, webpack and Rollup recognise:
 * an app that bundles pptsn-web emits the binaries as assets and rewrites the URLs, and an unbundled copy of dist/
 * (or the self-contained bundle) finds them beside the worker script. Each is a literal so bundlers can see it.
 */
export function defaultWasmPaths(): Record<'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm', string> {
  return {
    'tfjs-backend-wasm.wasm': new URL('./tfjs-backend-wasm.wasm', import.meta.url).href,
    'tfjs-backend-wasm-simd.wasm': new URL('./tfjs-backend-wasm-simd.wasm', import.meta.url).href,
    'tfjs-backend-wasm-threaded-simd.wasm': new URL('./tfjs-backend-wasm-threaded-simd.wasm', import.meta.url).href,
  };
}
