/**
 * Runs README.md's "The API in ten lines" block as written (test/browser/readme.test.ts passes its text, with only
 * the import line dropped and the model URL swapped for a seeded one), with the names it uses bound to real
 * things: files fetched from the fixtures, a canvas stream for the webcam, ImageBitmaps, a tensor. Exposes
 * `window.readme`.
 */
import { PPTSN } from '../../../src/index.js';
import { outcome } from './outcome.js';

const fileOf = async (url: string, name: string) => new File([await (await fetch(url)).blob()], name, { type: 'video/mp4' });

/** A moving canvas as a camera stream. */
function fakeCamera(): { stream: MediaStream; stop(): void } {
  const c = document.createElement('canvas');
  c.width = 160;
  c.height = 120;
  const ctx = c.getContext('2d')!;
  let n = 0;
  const timer = setInterval(() => {
    ctx.fillStyle = `hsl(${(n++ * 17) % 360} 80% 50%)`;
    ctx.fillRect(0, 0, 160, 120);
  }, 40);
  return { stream: c.captureStream(25), stop: () => clearInterval(timer) };
}

const readme = {
  /** Runs `code` (the README block) with its free names bound; reports what it printed and showed. */
  async run(code: string, video: string, other: string) {
    return outcome(async () => {
      const logged: unknown[][] = [];
      const shown: unknown[] = [];
      const camera = fakeCamera();
      const log = { log: (...a: unknown[]) => logged.push(a) };
      const images = [0, 1, 2].map((i) => new ImageData(new Uint8ClampedArray(64 * 48 * 4).fill(60 + 60 * i), 64, 48));
      const scope: Record<string, unknown> = {
        PPTSN,
        console: log,
        show: (x: unknown) => shown.push(x),
        videoElementOrFileOrUrl: video,
        file: await fileOf(video, 'example.mp4'),
        squatFile: await fileOf(video, 'squat.mp4'),
        lungeFile: await fileOf(other, 'lunge.mp4'),
        webcamStream: camera.stream,
        bitmap1: await createImageBitmap(images[0]!),
        bitmap2: await createImageBitmap(images[1]!),
        bitmap3: await createImageBitmap(images[2]!),
        float32: new Float32Array(3 * 3 * 224 * 224).fill(0.1),
      };
      // The block declares its own consts; returning them shows what each line gave.
      const names = ['model', 'result', 'input', 'live', 'trainer', 'mine', 'embedding', 'frames'];
      const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...a: string[]) => (...v: unknown[]) => Promise<Record<string, unknown>>;
      const run = new AsyncFunction(...Object.keys(scope), `${code}\nreturn { ${names.join(', ')} };`);
      try {
        const v = await run(...Object.values(scope));
        const model = v['model'] as PPTSN;
        const result = v['result'] as Awaited<ReturnType<PPTSN['classify']>>;
        const mine = v['mine'] as PPTSN;
        const out = {
          logged: logged.map((a) => JSON.stringify(a).slice(0, 200)),
          shown: shown.length,
          top: result.top.length,
          backend: model.backend,
          inputShape: (v['input'] as { tensor: { shape: number[] } }).tensor.shape,
          embedding: (v['embedding'] as Float32Array).length,
          frames: (v['frames'] as unknown[]).length,
          mineLabels: [...mine.labels],
        };
        await mine.close();
        return out;
      } finally {
        camera.stop();
      }
    });
  },
};

(window as unknown as { readme: typeof readme }).readme = readme;
document.title = 'ready';
