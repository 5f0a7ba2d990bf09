/**
 * The CLI trainer's train-mode pass on onnxruntime-node (issue 23): the trainable units' forward and backward
 * passes as the two graphs of `../onnx/trainGraph.ts`, run by MLAS on every core, with the head, the loss and the
 * optimiser on tfjs (`PassEngine`, src/core/model/passEngine.ts). tfjs-backend-wasm has no threads in Node and
 * 128-bit SIMD only; onnxruntime's GEMMs use AVX2/AVX-512 where the CPU has them.
 *
 * Per pass: the graphs read the parameters in place from the tfjs variables on the wasm heap and write the filter
 * gradients into new tfjs tensors there (heapTensors.ts: no copies of res5's 63 MB either way); the forward graph gives the
 * feature map, the batch statistics and the tensors its backward pass needs; tfjs takes the head's loss and
 * gradients (dropout with the pass's seed, as `passGrads`); the backward graph gives every conv filter's and BN
 * scale's and offset's gradient. A frozen part before the trainable one (`from` < the model's `trainableFrom`: e.g.
 * `last-stage` with a teacher, which recomputes it) runs on tfjs in eval mode first. One pair of sessions per input
 * shape, kept for the run.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { ConvBNSpec } from '../../core/model/arch.js';
import type { PassEngine } from '../../core/model/passEngine.js';
import type { PassGrads } from '../../core/model/passGrads.js';
import { FEATURE_MAP_BOUNDARY, runBackbone, type StageBoundary } from '../../core/model/resnetVd.js';
import type { BatchNormStats, TrainableRecognizer } from '../../core/model/trainable.js';
import { readInto } from '../../core/readBack.js';
import { runOnHeap, wasmHeap, type HeapInput } from './heapTensors.js';
import { transposeHWIOtoOIHW } from '../../core/model/filterLayout.js';
import { TRAIN_GRAPH_VERSION, trainGraphs, type TrainGraphs } from '../onnx/trainGraph.js';
import { availableParallelism } from 'node:os';
import { PPTSNError } from '../../core/errors.js';
import { loadOrt, type NodeRunnerChoice, type Ort } from '../runtime.js';

interface Sessions {
  graphs: TrainGraphs;
  forward: InferenceSession;
  backward: InferenceSession;
}

export interface OrtPassOptions {
  /** onnxruntime's intra-op threads (default: every core). */
  threads: number;
  /** Output positions up to which convs take the graphs' `matmul` form (convGraph.ts SMALL_SPATIAL; 0: none). */
  matmulFormUpTo?: number;
}

/** The names and shapes of each layer's filter, BN scale and offset gradients as the graphs output them (trainGraph.ts). */
function gradOutputs(layers: readonly ConvBNSpec[]): Record<string, number[]> {
  return Object.fromEntries(layers.flatMap((l) => [[`${l.key}.dw`, [l.kernel * l.kernel * l.inChannels, l.outChannels]], [`${l.key}.dg`, [l.outChannels]], [`${l.key}.db`, [l.outChannels]]]));
}

/**
 * Each trainable layer's gradients (`written`: the tensors onnxruntime wrote, `gradOutputs`' names) into `grads` by
 * variable name (`vars` holds filter, gamma, beta per layer in `layers`' order; the filter's as its HWIO shape), and
 * its batch statistics (`${key}.mean`, `.var` of `statOut`) into `record`. Both graphs and the one-graph step name
 * them alike (trainGraph.ts).
 */
function takeLayerOutputs(layers: readonly ConvBNSpec[], vars: readonly tf.Variable[], written: Record<string, tf.Tensor>, statOut: InferenceSession.ReturnType, grads: tf.NamedTensorMap, record: Map<string, BatchNormStats>): void {
  layers.forEach((l, i) => {
    const [filter, gamma, beta] = [vars[3 * i]!, vars[3 * i + 1]!, vars[3 * i + 2]!];
    const dw = written[`${l.key}.dw`]!;
    grads[filter.name] = tf.reshape(dw, filter.shape);
    dw.dispose();
    grads[gamma.name] = written[`${l.key}.dg`]!;
    grads[beta.name] = written[`${l.key}.db`]!;
    const data = (name: string) => statOut[name]!.data as Float32Array;
    record.set(l.key, { mean: tf.tensor1d(data(`${l.key}.mean`)), variance: tf.tensor1d(data(`${l.key}.var`)) });
  });
}

/** A `PassEngine` on onnxruntime-node; `ort` is the loaded module (runtime.ts `loadOrt`). */
export class OrtPassEngine implements PassEngine {
  readonly description: string;
  private readonly sessions = new Map<string, Promise<Sessions>>();
  private readonly steps = new Map<string, Promise<{ graphs: TrainGraphs; step: InferenceSession }>>();
  private params: { ids: object[]; feeds: Record<string, HeapInput | OrtTensor> } | undefined;
  private readonly buffers = new Map<string, Float32Array<ArrayBuffer>>();

  constructor(private readonly ort: Ort, private readonly options: OrtPassOptions) {
    const version = (ort.env.versions as { node?: string; common?: string }).node ?? (ort.env.versions as { common?: string }).common ?? '';
    this.description = `onnxruntime-node ${version}, ${options.threads} thread${options.threads === 1 ? '' : 's'} (forward and backward graphs, trainGraph.ts v${TRAIN_GRAPH_VERSION})`;
  }

  private sessionsFor(model: TrainableRecognizer, from: StageBoundary, shape: [number, number, number, number]): Promise<Sessions> {
    const key = `${model.arch.depth}:${model.arch.numClasses}:${from}:${shape.join('x')}`;
    let s = this.sessions.get(key);
    if (!s) {
      const graphs = trainGraphs(model.arch, from, shape, this.graphOptions());
      const opts = this.sessionOptions();
      s = Promise.all([this.ort.InferenceSession.create(graphs.forward, opts), this.ort.InferenceSession.create(graphs.backward, opts)]).then(([forward, backward]) => ({ graphs, forward, backward }));
      this.sessions.set(key, s);
    }
    return s;
  }

  async passGrads(model: TrainableRecognizer, x: tf.Tensor4D, segments: number, loss: (logits: tf.Tensor2D) => tf.Scalar, opts: { from: StageBoundary; seed?: number }): Promise<PassGrads> {
    const first = model.trainableFrom;
    if (first >= FEATURE_MAP_BOUNDARY) {
      // Only the head trains: nothing for onnxruntime to do.
      return tf.tidy(() => model.passGrads(x, segments, loss, { from: opts.from, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) }) as unknown as tf.TensorContainerObject) as unknown as PassGrads;
    }
    const ort = this.ort;
    const heap = wasmHeap();
    const { shape, input, dispose } = this.trainableInput(model, x, opts.from);
    let graphs: TrainGraphs, backward: InferenceSession, vars: tf.Variable[], params: Record<string, HeapInput | OrtTensor>, fwd: InferenceSession.ReturnType;
    const inputsOf = (session: InferenceSession, extra: Record<string, HeapInput | OrtTensor>) => Object.fromEntries(session.inputNames.map((n) => [n, extra[n] ?? params[n]!]));
    try {
      let forward: InferenceSession;
      ({ graphs, forward, backward } = await this.sessionsFor(model, first, shape));
      vars = model.variablesOf(graphs.layers);
      if (vars.length !== 3 * graphs.layers.length) throw new Error(`OrtPassEngine: ${vars.length} trainable variables for ${graphs.layers.length} layers (a frozen layer inside the trainable part?)`);
      params = await this.paramInputs(graphs, vars, heap);
      fwd = (await runOnHeap(ort, forward, heap, inputsOf(forward, { x: input }), {})).out;
    } finally {
      dispose();
    }

    // The head on tfjs: loss, the FC's gradients and the feature map's gradient.
    const grads: tf.NamedTensorMap = {};
    const record = new Map<string, BatchNormStats>();
    let value: tf.Scalar | undefined;
    try {
      const headVars = model.variablesOf([], true);
      const map = tf.tensor4d(fwd['map']!.data as Float32Array, graphs.mapShape);
      let dmap: Float32Array;
      try {
        const h = tf.valueAndGrads((...args: tf.Tensor[]) => loss(model.head(args[0] as tf.Tensor4D, segments, { training: true, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) })))([map, ...headVars]);
        value = h.value as tf.Scalar;
        headVars.forEach((v, i) => (grads[v.name] = h.grads[i + 1]!));
        try {
          dmap = (await h.grads[0]!.data()) as Float32Array;
        } finally {
          h.grads[0]!.dispose();
        }
      } finally {
        map.dispose();
      }
      const { written } = await runOnHeap(ort, backward, heap, inputsOf(backward, { dmap: new ort.Tensor('float32', dmap, graphs.mapShape), ...Object.fromEntries(graphs.saved.map((s) => [s, fwd[s]!])) }), gradOutputs(graphs.layers));
      takeLayerOutputs(graphs.layers, vars, written, fwd, grads, record);
    } catch (e) {
      value?.dispose();
      tf.dispose(Object.values(grads));
      for (const s of record.values()) tf.dispose([s.mean, s.variance]);
      throw e;
    }
    model.recordBatchStats(record);
    return { value: value!, grads };
  }

  async passCrossEntropy(model: TrainableRecognizer, x: tf.Tensor4D, segments: number, targets: tf.Tensor2D, opts: { from: StageBoundary; seed?: number }): Promise<(PassGrads & { logits: tf.Tensor2D }) | null> {
    const first = model.trainableFrom;
    if (first >= FEATURE_MAP_BOUNDARY) return null;
    const ort = this.ort;
    const heap = wasmHeap();
    const { shape, input, dispose } = this.trainableInput(model, x, opts.from);
    const [n, K, F] = [shape[0] / segments, model.arch.numClasses, model.arch.featureDim];
    // The dropout mask as tfjs draws it for ppTSNHead (tf.dropout of the [N, F] mean with the same seed).
    const mask = tf.tidy(() => (model.dropout > 0 ? tf.dropout(tf.ones([n, F]), model.dropout, undefined, opts.seed) : tf.ones([n, F])));
    let graphs: TrainGraphs, vars: tf.Variable[], run: Awaited<ReturnType<typeof runOnHeap>>;
    const [fcW, fcB] = model.variablesOf([], true) as [tf.Variable, tf.Variable];
    try {
      const key = `${model.arch.depth}:${K}:${first}:${shape.join('x')}:ce${segments}`;
      let s = this.steps.get(key);
      if (!s) {
        const g = trainGraphs(model.arch, first, shape, { head: { segments, classes: K }, ...this.graphOptions() });
        s = this.ort.InferenceSession.create(g.step!, this.sessionOptions()).then((step) => ({ graphs: g, step }));
        this.steps.set(key, s);
      }
      let step: InferenceSession;
      ({ graphs, step } = await s);
      vars = model.variablesOf(graphs.layers);
      const params = await this.paramInputs(graphs, vars, heap);
      const inputs: Record<string, HeapInput | OrtTensor> = { x: input, 'fc.w': { tensor: fcW, dims: [F, K] }, 'fc.b': { tensor: fcB, dims: [K] }, target: { tensor: targets, dims: [n, K] }, mask: { tensor: mask, dims: [n, F] } };
      run = await runOnHeap(ort, step, heap, Object.fromEntries(step.inputNames.map((name) => [name, inputs[name] ?? params[name]!])), { ...gradOutputs(graphs.layers), 'fc.dw': [F, K], 'fc.db': [K] });
    } finally {
      mask.dispose();
      dispose();
    }
    const { out, written } = run;
    const grads: tf.NamedTensorMap = { [fcW.name]: written['fc.dw']!, [fcB.name]: written['fc.db']! };
    const record = new Map<string, BatchNormStats>();
    takeLayerOutputs(graphs.layers, vars, written, out, grads, record);
    model.recordBatchStats(record);
    return { value: tf.scalar((out['loss']!.data as Float32Array)[0]!), grads, logits: tf.tensor2d(out['logits']!.data as Float32Array, [n, K]) };
  }

  /**
   * The input of the trainable part, NHWC: `x` itself, or the frozen part's output on tfjs (eval mode), which
   * `dispose` releases.
   */
  private trainableInput(model: TrainableRecognizer, x: tf.Tensor4D, from: StageBoundary): { shape: [number, number, number, number]; input: HeapInput; dispose: () => void } {
    const t = from < model.trainableFrom ? runBackbone(model.arch, x, model.trainRunner(false, undefined), from, model.trainableFrom) : x;
    return { shape: t.shape as [number, number, number, number], input: { tensor: t, dims: t.shape }, dispose: () => t !== x && t.dispose() };
  }


  private graphOptions(): { matmulFormUpTo?: number } {
    return this.options.matmulFormUpTo !== undefined ? { matmulFormUpTo: this.options.matmulFormUpTo } : {};
  }

  private sessionOptions(): InferenceSession.SessionOptions {
    return { intraOpNumThreads: this.options.threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
  }

  /**
   * The parameters as the graphs' inputs: `.whwio` (the variable's own HWIO data, as `[k²·I, O]`), `.g`, `.b` read in
   * place on the wasm heap (heapTensors.ts), `.w` OIHW for the layers whose graphs read it (`graphs.oihw`: large maps
   * and the stem, convGraph.ts), transposed into an array kept for the run. Kept while every variable still holds the
   * same tensor (an optimiser step assigns new ones), so a step's micro-batches and the forward and backward of each
   * share one transpose. Off the heap the values are copied into kept arrays too (`buffer`): fresh ones as large as
   * ResNet50's filters cost ~20 ms of page faults a step (readBack.ts `readInto`).
   */
  private async paramInputs(graphs: TrainGraphs, vars: tf.Variable[], heap: ReturnType<typeof wasmHeap>): Promise<Record<string, HeapInput | OrtTensor>> {
    const ids = vars.map((v) => v.dataId);
    const cached = this.params;
    // Kept inputs serve while the variables are the same and hold every OIHW filter these graphs read (another input
    // size may put a layer in the other form).
    if (cached && cached.ids.length === ids.length && cached.ids.every((id, i) => id === ids[i]) && [...graphs.oihw].every((k) => `${k}.w` in cached.feeds)) return cached.feeds;
    const names = graphs.layers.flatMap((l) => [`${l.key}.whwio`, `${l.key}.g`, `${l.key}.b`]);
    const copies = heap ? undefined : vars.map((v, i) => this.buffer(names[i]!, v.size));
    if (copies) await readInto(vars, copies);
    const input = (j: number, dims: number[]): HeapInput | OrtTensor => (copies ? new this.ort.Tensor('float32', copies[j]!, dims) : { tensor: vars[j]!, dims });
    const feeds: Record<string, HeapInput | OrtTensor> = {};
    graphs.layers.forEach((l, i) => {
      const [k, I, O] = [l.kernel, l.inChannels, l.outChannels];
      feeds[`${l.key}.whwio`] = input(3 * i, [k * k * I, O]);
      feeds[`${l.key}.g`] = input(3 * i + 1, [O]);
      feeds[`${l.key}.b`] = input(3 * i + 2, [O]);
      if (!graphs.oihw.has(l.key)) return;
      const hwio = copies?.[3 * i] ?? heap!.typedArrayFromHeap(vars[3 * i]!);
      feeds[`${l.key}.w`] = new this.ort.Tensor('float32', transposeHWIOtoOIHW(hwio, O, I, k, this.buffer(`${l.key}.w`, hwio.length)), [O, I, k, k]);
    });
    this.params = { ids, feeds };
    return feeds;
  }

  /** The array kept for the input `name` (overwritten by the next refresh: an onnxruntime run reads it before then). */
  private buffer(name: string, size: number): Float32Array<ArrayBuffer> {
    let b = this.buffers.get(name);
    if (b?.length !== size) this.buffers.set(name, (b = new Float32Array(size)));
    return b;
  }

  async dispose(): Promise<void> {
    this.params = undefined;
    this.buffers.clear();
    const all = await Promise.allSettled(this.sessions.values());
    const steps = await Promise.allSettled(this.steps.values());
    this.sessions.clear();
    this.steps.clear();
    await Promise.all([
      ...all.flatMap((r) => (r.status === 'fulfilled' ? [r.value.forward.release(), r.value.backward.release()] : [])),
      ...steps.flatMap((r) => (r.status === 'fulfilled' ? [r.value.step.release()] : [])),
    ]);
  }
}

/**
 * The engine `train --backend` asks for: onnxruntime-node for `auto` (when it loads) and `onnx` (which must load:
 * PPTSNError `backend-unavailable` otherwise, as the frozen part's runner says), none (tfjs) for `wasm` and `cpu`.
 * Uses every core. Says which through `onEvent` (the CLI's "[train] trainable part on …" line).
 */
export async function trainEngine(backend: NodeRunnerChoice, onEvent?: (e: { phase: 'runtime'; trainable: string }) => void): Promise<OrtPassEngine | undefined> {
  const ort = backend === 'auto' || backend === 'onnx' ? await loadOrt() : `--backend ${backend}`;
  if (typeof ort === 'string' && backend === 'onnx') throw new PPTSNError('backend-unavailable', `--backend onnx: ${ort}; or use --backend wasm`);
  const engine = typeof ort === 'string' ? undefined : new OrtPassEngine(ort, { threads: availableParallelism() });
  onEvent?.({ phase: 'runtime', trainable: engine?.description ?? `tfjs ${backend === 'cpu' ? 'cpu' : 'wasm, 1 thread'} (${ort as string})` });
  return engine;
}
