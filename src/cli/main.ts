#!/usr/bin/env node
/**
 * The `pptsn-web` command: convert PaddleVideo weights, classify videos or PaddleVideo input tensors, export
 * back to `.pdparams`, download the released PP-TSN weights. Any failure prints one line on stderr naming the
 * file and the problem, and exits non-zero.
 */
import { parseArgs } from 'node:util';
import { PPTSNError, messageOf } from '../core/errors.js';
import { classify, formatTop } from './classify.js';
import { convert } from './convert.js';
import { downloadFile, progressPrinter, RELEASES } from './download.js';
import { exportPdparams } from './export.js';
import { NODE_RUNNERS } from '../node/runtime.js';

const USAGE = `pptsn-web: PaddleVideo PP-TSN video classification

Usage:
  pptsn-web convert <in.pdparams|in.pdiparams> -o <dir> [--labels kinetics400|ucf101|<file>] [--dtype float32|float16]
  pptsn-web classify <video> -m <dir> [--preset accurate|fast] [--segments T] [--top-k K] [--json] [--dump-input x.npy] [--backend auto|onnx|wasm|cpu] [--progress] [--no-winograd]
  pptsn-web classify --tensor <x.npy> -m <dir> [--top-k K] [--json] [--backend auto|onnx|wasm|cpu] [--progress] [--no-winograd]
  pptsn-web export <dir> -o <out.pdparams>
  pptsn-web download pptsn-k400 [--distilled] -o <dir> [--url <url>] [--dtype float32|float16]

classify needs the system's ffmpeg for video files. The default backend (auto) is onnx, onnxruntime-node on every
core, when that optional package is installed (npm install onnxruntime-node), else wasm; cpu is the fallback. On wasm the
3×3 convolutions of res3–res5 run as Winograd F(2×2, 3×3) (faster, ~1e-6 relative rounding differences);
--no-winograd runs them directly.`;

const OPTIONS = {
  out: { type: 'string', short: 'o' },
  model: { type: 'string', short: 'm' },
  labels: { type: 'string' },
  dtype: { type: 'string' },
  tensor: { type: 'string' },
  backend: { type: 'string' },
  'top-k': { type: 'string' },
  json: { type: 'boolean' },
  preset: { type: 'string' },
  segments: { type: 'string' },
  'dump-input': { type: 'string' },
  distilled: { type: 'boolean' },
  'no-winograd': { type: 'boolean' },
  progress: { type: 'boolean' },
  url: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A command line we cannot run as written: exit code 2, like other Unix tools. */
class UsageError extends PPTSNError {
  constructor(message: string) {
    super('invalid-argument', `${message} (see 'pptsn-web --help')`);
  }
}

function usage(message: string): never {
  throw new UsageError(message);
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) usage(`${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) usage(`${flag} must be a positive integer, got "${value}"`);
  return n;
}

const log = (line: string) => process.stderr.write(line + '\n');

export async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE + '\n');
    if (!command && !values.help) process.exitCode = 2;
    return;
  }
  const dtype = oneOf(values.dtype, ['float32', 'float16'] as const, '--dtype');
  switch (command) {
    case 'convert': {
      if (rest.length !== 1) usage('convert takes one weight file');
      if (!values.out) usage('convert needs -o <dir>');
      await convert({ input: rest[0]!, outDir: values.out, ...(values.labels ? { labels: values.labels } : {}), ...(dtype ? { dtype } : {}), log });
      return;
    }
    case 'classify': {
      if (!values.model) usage('classify needs -m <model dir>');
      if (rest.length > 1) usage('classify takes one video file');
      if (values.tensor && rest.length) usage('give either a video file or --tensor, not both');
      if (!values.tensor && !rest.length) usage('classify needs a video file or --tensor <x.npy>');
      const backend = oneOf(values.backend, ['auto', ...NODE_RUNNERS] as const, '--backend');
      const preset = oneOf(values.preset, ['accurate', 'fast'] as const, '--preset');
      const topK = positiveInt(values['top-k'], '--top-k');
      const segments = positiveInt(values.segments, '--segments');
      const out = await classify({
        modelDir: values.model,
        ...(values.tensor ? { tensor: values.tensor } : { video: rest[0]! }),
        ...(backend ? { backend } : {}),
        ...(preset ? { preset } : {}),
        ...(topK ? { topK } : {}),
        ...(segments ? { segments } : {}),
        ...(values['dump-input'] ? { dumpInput: values['dump-input'] } : {}),
        ...(values['no-winograd'] ? { winograd: false } : {}),
        ...(values.progress ? { progress: true } : {}),
      });
      process.stdout.write((values.json ? JSON.stringify(out) : formatTop(out)) + '\n');
      return;
    }
    case 'export': {
      if (rest.length !== 1) usage('export takes one model folder');
      if (!values.out) usage('export needs -o <out.pdparams>');
      await exportPdparams(rest[0]!, values.out, log);
      return;
    }
    case 'download': {
      if (rest.length !== 1 || rest[0] !== 'pptsn-k400') usage('download knows one model: pptsn-k400 (add --distilled for the 8-segment distilled one)');
      if (!values.out) usage('download needs -o <dir>');
      const url = values.url ?? (values.distilled ? RELEASES['pptsn-k400-distilled'] : RELEASES['pptsn-k400']);
      const showProgress = process.stderr.isTTY || process.env.PPTSN_PROGRESS === '1';
      const file = await downloadFile(url, values.out, showProgress ? progressPrinter(`downloading ${url}`) : undefined);
      log(`downloaded ${file.path} (${file.bytes} bytes, sha256 ${file.sha256})`);
      await convert({ input: file.path, outDir: values.out, labels: 'kinetics400', ...(dtype ? { dtype } : {}), log });
      return;
    }
    default:
      usage(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (process.env.PPTSN_PROGRESS === '1' || process.stderr.isTTY) process.stderr.write('\n');
  // One line that names the file and the problem; a stack only when asked for.
  const message = messageOf(e);
  process.stderr.write(`pptsn-web: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  if (process.env.PPTSN_DEBUG) console.error(e);
  process.exitCode = e instanceof UsageError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 2 : 1;
});
