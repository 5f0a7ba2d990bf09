/** The train section: fine-tuning step time per strategy through the public Trainer, on wasm in Chromium. */
import type { Page } from 'playwright-core';
import { ensureModels } from './models.js';
import type { BenchWindow } from './network.js';
import type { Options } from './options.js';
import { log, type Report } from './report.js';

/** Fine-tuning step time per strategy through the public Trainer (model.createTrainer), on wasm in Chromium. */
export async function trainSection(page: Page, o: Options, report: Report): Promise<void> {
  const models = ensureModels(o);
  log('train: wasm, strategies head, last-stage, full');
  try {
    report.train = {
      basis: `2 clips of example.mp4, ${o.trainSegments} segments, batch 2, ${o.trainEpochs} epochs, mixup/label smoothing defaults, no precise BN; each strategy stopped after ${o.trainBudgetS} s`,
      strategies: await page.evaluate((opts) => (window as never as BenchWindow).bench.train!(opts as never), {
        backend: 'wasm', model: models.f32, video: '/test/fixtures/media/example.mp4', strategies: ['head', 'last-stage', 'full'], segments: o.trainSegments, epochs: o.trainEpochs, budgetMs: o.trainBudgetS * 1000, wasmPaths: '/node_modules/@tensorflow/tfjs-backend-wasm/dist/',
      }),
    };
  } catch (e) {
    report.train = { error: (e as Error).message.slice(0, 1000) };
  }
}
