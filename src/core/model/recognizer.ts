/**
 * PaddleVideo's Recognizer2D for PP-TSN (ResNetTweaksTSN backbone + ppTSNHead), inference mode.
 *
 * At construction every BatchNorm is folded into its convolution (w' = w·γ/√(σ²+ε), b = β − μ·γ/√(σ²+ε), in
 * double precision, ε = 1e-5) and the filters are transposed once from Paddle's [O, I, kh, kw] to tfjs's
 * [kh, kw, I, O], so each ConvBN is a single `tf.fused.conv2d` with bias and ReLU fused. The network runs NHWC;
 * `predict` transposes PaddleVideo's NCHW input once. `predict` is the synchronous whole-model call (tests, benches);
 * the page's worker, the CLI and `embed` run tensor inputs through core/classify/tensorInput.ts, chunk by chunk.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../errors.js';
import type { StateDict } from '../stateDict.js';
import { convBNLayers, type ArchSpec, type ConvBNSpec } from './arch.js';
import { ppTSNHead } from './head.js';
import { paddleInputShape } from './paddleInput.js';
import { convPadding, FEATURE_MAP_BOUNDARY, globalAvgPool, IMAGE_BOUNDARY, runBackbone, vdAvgPool, type StageBoundary } from './resnetVd.js';
import { resolveArch, type ArchOptions } from './validate.js';
import { inputTransform, useWinograd, winogradConv3x3, winogradFilter, type InputTransform } from './winograd.js';

/** Paddle BatchNorm's epsilon in ResNetTweaksTSN. */
export const BN_EPSILON = 1e-5;

export interface FeatureOptions {
  /**
   * Images per backbone call. Bounds peak memory for large inputs (e.g. the accurate preset's 250 images at
   * 224×224); the default runs all images at once.
   */
  batchSize?: number;
}

/** Options of `Recognizer.fromStateDict`. */
export interface RecognizerOptions extends ArchOptions {
  /**
   * Run the stride-1 3×3 convolutions with ≥ 128 channels by Winograd F(2×2, 3×3) (`winograd.ts`): ~1.5–2×
   * faster on those layers on tfjs-backend-wasm, float32 results within ~1e-5 relative of the direct convolution.
   * Default: on when the active tfjs backend is `wasm` (where it was measured faster), off elsewhere.
   */
  winograd?: boolean;
}

interface FoldedConv {
  /** [kh, kw, I, O]; absent for a Winograd layer, which keeps only its transformed filter. */
  filter?: tf.Tensor4D;
  /** Winograd U = G g Gᵀ: 16 filters [1, 1, I, O]. */
  winograd?: tf.Tensor4D[];
  bias: tf.Tensor1D;
}

/**
 * Folds one ConvBN's BatchNorm into its conv and transposes the filter to [kh, kw, I, O], on the CPU in one pass
 * (it is done once per model, and doing it in JS avoids uploading the unfolded weights at all).
 */
export function foldConvBN(layer: ConvBNSpec, sd: StateDict, eps = BN_EPSILON): { filter: Float32Array; bias: Float32Array } {
  const w = sd.get(`${layer.key}._conv.weight`)!.data;
  const gamma = sd.get(`${layer.key}._batch_norm.weight`)!.data;
  const beta = sd.get(`${layer.key}._batch_norm.bias`)!.data;
  const mean = sd.get(`${layer.key}._batch_norm._mean`)!.data;
  const variance = sd.get(`${layer.key}._batch_norm._variance`)!.data;
  const O = layer.outChannels;
  const I = layer.inChannels;
  const K = layer.kernel;
  const filter = new Float32Array(O * I * K * K);
  const bias = new Float32Array(O);
  for (let o = 0; o < O; o++) {
    const scale = gamma[o]! / Math.sqrt(variance[o]! + eps);
    bias[o] = beta[o]! - mean[o]! * scale;
    for (let i = 0; i < I; i++) {
      for (let kh = 0; kh < K; kh++) {
        for (let kw = 0; kw < K; kw++) {
          filter[((kh * K + kw) * I + i) * O + o] = w[((o * I + i) * K + kh) * K + kw]! * scale;
        }
      }
    }
  }
  return { filter, bias };
}

function checkImages(x: tf.Tensor, what: string): asserts x is tf.Tensor4D {
  if (x.rank !== 4 || x.shape[3] !== 3) {
    throw new PPTSNError('invalid-argument', `${what} expects NHWC images [n, H, W, 3], got [${x.shape.join(', ')}]`);
  }
}

/** A PP-TSN model ready for inference (BN folded). Create with `Recognizer.fromStateDict`; free with `dispose()`. */
export class Recognizer {
  /** The layer plan: depth, class count, feature width, layers. */
  readonly arch: ArchSpec;
  private readonly convs: Map<string, FoldedConv>;
  private readonly fcWeight: tf.Tensor2D;
  private readonly fcBias: tf.Tensor1D;
  private readonly source: StateDict;
  /** Winograd input transforms, one per channel count. */
  private readonly transforms = new Map<number, InputTransform>();
  private disposed = false;

  private constructor(arch: ArchSpec, sd: StateDict, winograd: boolean) {
    this.arch = arch;
    this.source = sd;
    this.convs = new Map();
    try {
      for (const layer of convBNLayers(arch)) {
        const { filter, bias } = foldConvBN(layer, sd);
        const { kernel: K, inChannels: I, outChannels: O } = layer;
        if (winograd && useWinograd(K, layer.stride, I, O)) {
          this.convs.set(layer.key, { winograd: winogradFilter(filter, I, O).map((u) => tf.tensor4d(u, [1, 1, I, O])), bias: tf.tensor1d(bias) });
          if (!this.transforms.has(I)) this.transforms.set(I, inputTransform(I));
        } else {
          this.convs.set(layer.key, { filter: tf.tensor4d(filter, [K, K, I, O]), bias: tf.tensor1d(bias) });
        }
      }
      this.fcWeight = tf.tensor2d(sd.get('head.fc.weight')!.data, [arch.featureDim, arch.numClasses]);
      this.fcBias = tf.tensor1d(sd.get('head.fc.bias')!.data);
    } catch (e) {
      this.disposeWeights();
      throw e;
    }
  }

  private disposeWeights(): void {
    for (const c of this.convs.values()) tf.dispose([...(c.filter ? [c.filter] : []), ...(c.winograd ?? []), c.bias]);
    for (const t of this.transforms.values()) tf.dispose([...t.rows, ...t.cols]);
    this.convs.clear();
    this.transforms.clear();
  }

  /**
   * Builds the inference model from a PaddleVideo state dict (structured keys, Paddle layouts). Depth and class
   * count are inferred from the keys when not given. Every key and shape is checked first: a mismatch throws
   * PPTSNError('model-invalid') naming the missing, unknown and misshapen keys (expected vs found shape).
   * The Recognizer keeps a reference to `sd` (no copy) for `toStateDict()`: do not mutate it afterwards.
   */
  static fromStateDict(sd: StateDict, opts: RecognizerOptions = {}): Recognizer {
    return new Recognizer(resolveArch(sd, opts), sd, opts.winograd ?? tf.getBackend() === 'wasm');
  }

  private live(): void {
    if (this.disposed) throw new PPTSNError('invalid-argument', 'this Recognizer was disposed');
  }

  private readonly runConvBN = (layer: ConvBNSpec, x: tf.Tensor4D): tf.Tensor4D => {
    const c = this.convs.get(layer.key)!;
    if (c.winograd) return winogradConv3x3(x, c.winograd, c.bias, layer.act, this.transforms.get(layer.inChannels)!);
    const input = layer.avgPoolFirst ? vdAvgPool(x) : x;
    return tf.fused.conv2d({
      x: input,
      filter: c.filter!,
      strides: layer.stride,
      pad: convPadding(layer.kernel),
      bias: c.bias,
      activation: layer.act ? 'relu' : 'linear',
    });
  };

  /**
   * Runs the backbone between two stage boundaries (see `StageBoundary`: 0 image, 1 after the stem, 2..5 after
   * res2..res5) on NHWC input and returns the feature map at `to`. E.g. `runStages(images, 0, 4)` gives the
   * input of the last stage, which a "last-stage" fine-tuning run can cache. The caller owns input and output.
   */
  runStages(x: tf.Tensor4D, from: StageBoundary, to: StageBoundary): tf.Tensor4D {
    this.live();
    return runBackbone(this.arch, x, this.runConvBN, from, to);
  }

  /**
   * Pooled per-image features: NHWC normalised images `[n, H, W, 3]` → `[n, F]` (F = 512 for depth < 50, else
   * 2048). Any H, W (≥ 32 is what PaddleVideo supports; odd sizes are fine).
   */
  features(images: tf.Tensor4D, opts: FeatureOptions = {}): tf.Tensor2D {
    this.live();
    checkImages(images, 'features');
    return this.chunked(images.shape[0], opts.batchSize, (start, size) => {
      const part = size === images.shape[0] ? images : tf.slice(images, start, size);
      try {
        return this.pooled(part);
      } finally {
        if (part !== images) part.dispose();
      }
    });
  }

  /** Global average pool of `runStages(x, 0, 5)`; one place so `features` and `predict` share it. */
  private pooled(images: tf.Tensor4D): tf.Tensor2D {
    const map = runBackbone(this.arch, images, this.runConvBN, IMAGE_BOUNDARY, FEATURE_MAP_BOUNDARY);
    try {
      return globalAvgPool(map);
    } finally {
      map.dispose();
    }
  }

  /** Runs `fn` over [start, size) slices of n items and concatenates, freeing each part as soon as it is joined. */
  private chunked(n: number, batchSize: number | undefined, fn: (start: number, size: number) => tf.Tensor2D): tf.Tensor2D {
    const step = batchSize === undefined ? n : Math.floor(batchSize);
    if (!(step >= 1)) throw new PPTSNError('invalid-argument', `batchSize must be a positive integer, got ${String(batchSize)}`);
    if (step >= n) return fn(0, n);
    const parts: tf.Tensor2D[] = [];
    try {
      for (let s = 0; s < n; s += step) parts.push(fn(s, Math.min(step, n - s)));
      return tf.concat(parts, 0);
    } finally {
      tf.dispose(parts);
    }
  }

  /**
   * ppTSNHead: features `[N, T·C, F]` → logits `[N, classes]` (mean over the T·C images, then the FC).
   * No softmax: apply it once to these averaged logits.
   */
  head(features: tf.Tensor3D): tf.Tensor2D {
    this.live();
    if (features.rank !== 3 || features.shape[2] !== this.arch.featureDim) {
      throw new PPTSNError('invalid-argument', `head expects features [N, T·C, ${this.arch.featureDim}], got [${features.shape.join(', ')}]`);
    }
    return ppTSNHead(features, this.fcWeight, this.fcBias);
  }

  /**
   * The whole Recognizer2D on PaddleVideo's input: `[N, T·C, 3, H, W]` (or one clip `[T·C, 3, H, W]`), NCHW,
   * normalised → logits `[N, classes]`. The input is transposed to NHWC once (per `batchSize` chunk when given).
   */
  predict(x: tf.Tensor, opts: FeatureOptions = {}): tf.Tensor2D {
    this.live();
    const { N, S, H, W } = paddleInputShape(x.shape, 'predict');
    const n = N * S;
    const feats = this.chunked(n, opts.batchSize, (start, size) =>
      tf.tidy(() => {
        const nchw = tf.reshape(x, [n, 3, H, W]) as tf.Tensor4D;
        const part = size === n ? nchw : tf.slice(nchw, start, size);
        return this.pooled(tf.transpose(part, [0, 2, 3, 1]));
      }),
    );
    try {
      return tf.tidy(() => this.head(tf.reshape(feats, [N, S, this.arch.featureDim]) as tf.Tensor3D));
    } finally {
      feats.dispose();
    }
  }

  /** The original (unfolded) parameters in Paddle layouts, as fresh copies (for export to .pdparams etc.). */
  toStateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [k, v] of this.source) out.set(k, { shape: [...v.shape], data: v.data.slice() });
    return out;
  }

  /** Frees all backend memory held by the model. Further calls throw. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeWeights();
    tf.dispose([this.fcWeight, this.fcBias]);
  }
}
