/**
 * Test page for test/browser/csp.test.ts: served with a strict Content-Security-Policy (no 'unsafe-eval'); loads the
 * model on the backend it is asked for and classifies a video, recording every CSP violation the page sees.
 */
import { PPTSN, isPPTSNError } from '../../../src/index.js';

const violations: string[] = [];
document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));

async function run(backend: 'wasm' | 'webgl' | 'cpu', model: string, video: string, wasmPaths?: string) {
  let m: PPTSN | null = null;
  try {
    // wasmThreads left at its default: on this cross-origin isolated page the WASM backend runs threaded.
    m = await PPTSN.load({ model, backend, ...(wasmPaths ? { wasmPaths } : {}) });
    const r = await m.classify(video, { preset: 'fast', segments: 1 });
    // The eval probe below reports its own violation asynchronously (from this file): not the library's.
    const seen = violations.filter((v) => !v.includes('csp-page.ts'));
    // eval must really be blocked here, or the test proves nothing (this probe's own violation is not counted).
    let evalBlocked = false;
    try {
      (0, eval)('1');
    } catch {
      evalBlocked = true;
    }
    return { ok: true, backend: m.backend, backendReport: m.backendReport, top: r.top[0]!.label, evalBlocked, violations: seen };
  } catch (e) {
    return { ok: false, code: isPPTSNError(e) ? e.code : 'not-a-PPTSNError', message: String((e as Error)?.message ?? e), violations };
  } finally {
    await m?.dispose();
  }
}

(window as unknown as { csp: { run: typeof run } }).csp = { run };
document.title = 'ready';
