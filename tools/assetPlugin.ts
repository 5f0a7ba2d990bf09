/**
 * The shape both asset plugins share (wasmAssets.ts: tfjs's WASM files; ffmpegCore.ts: ffmpeg.wasm): files from
 * node_modules served by the dev and preview servers, copied into a folder when a build starts (the library's
 * dist/worker/), and emitted as assets into an app's build (the demo).
 */
import type { Connect, Plugin } from 'vite';

export interface AssetPluginSpec {
  name: string;
  /** Dev/preview middleware that answers the asset URLs and passes everything else on. */
  serve: Connect.NextHandleFunction;
  /** Runs when a build starts (copies files next to the compiled worker). */
  copy?: () => void;
  /** The assets to emit into the bundle: output file name → contents. */
  emit?: () => { fileName: string; source: string | Uint8Array }[];
}

export function assetPlugin(spec: AssetPluginSpec): Plugin {
  return {
    name: spec.name,
    configureServer(server) {
      server.middlewares.use(spec.serve);
    },
    configurePreviewServer(server) {
      server.middlewares.use(spec.serve);
    },
    buildStart() {
      spec.copy?.();
    },
    generateBundle() {
      for (const asset of spec.emit?.() ?? []) this.emitFile({ type: 'asset', ...asset });
    },
  };
}
