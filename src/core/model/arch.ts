/**
 * The PP-TSN architecture as data: which ConvBN layers exist for a ResNet-vd depth, their shapes, their
 * PaddleVideo structured names (`backbone.bb_1_0.conv0`) and their older "internal" names
 * (`res3a_branch2a`). Everything that needs to know the layout of the network (the network itself, the
 * weight-file readers and writers, depth inference) reads it from here, so there is one source of truth.
 * Mirrors `paddlevideo/modeling/backbones/resnet_tweaks_tsn.py` and `heads/pptsn_head.py` (docs/contract.md §1–2).
 */

/** The ResNet-vd depths PaddleVideo's ResNetTweaksTSN supports. */
export const DEPTHS = [18, 34, 50, 101, 152, 200] as const;
export type Depth = (typeof DEPTHS)[number];

/** Blocks per stage for each depth (docs/contract.md §1). */
export const STAGE_BLOCKS: Record<Depth, readonly number[]> = {
  18: [2, 2, 2, 2],
  34: [3, 4, 6, 3],
  50: [3, 4, 6, 3],
  101: [3, 4, 23, 3],
  152: [3, 8, 36, 3],
  200: [3, 12, 48, 3],
};

/** Output filters of the first conv of each stage's blocks. */
export const STAGE_FILTERS = [64, 128, 256, 512] as const;

export function isDepth(d: number): d is Depth {
  return (DEPTHS as readonly number[]).includes(d);
}

/** Depth ≥ 50 uses Bottleneck blocks (expansion 4), below that Basic blocks. */
export function isBottleneck(depth: Depth): boolean {
  return depth >= 50;
}

/** Width of the pooled feature that feeds the head: 2048 for Bottleneck nets, 512 for Basic ones. */
export function featureDim(depth: Depth): number {
  return isBottleneck(depth) ? 2048 : 512;
}

/** One ConvBN layer: conv (no bias) → BatchNorm → optional ReLU, optionally preceded by the vd AvgPool tweak. */
export interface ConvBNSpec {
  /** Structured prefix, e.g. `backbone.bb_1_0.conv0` (params are `${key}._conv.weight` etc.). */
  key: string;
  /** Internal conv name, e.g. `res3a_branch2a` (weights `${internal}_weights`). */
  internal: string;
  /** Internal BN name, e.g. `bn3a_branch2a` (params `${bnInternal}_scale` etc.). */
  bnInternal: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  /** ReLU after BN. */
  act: boolean;
  /** AvgPool2D(2, 2, ceil_mode, exclusive) before the conv (the "vd" tweak on projection shortcuts). */
  avgPoolFirst: boolean;
}

/** A residual block: its ConvBN layers in order and an optional projection shortcut. */
export interface BlockSpec {
  /** Structured prefix, e.g. `backbone.bb_2_3`. */
  key: string;
  stage: number;
  index: number;
  stride: number;
  /** Branch convs: [conv0, conv1] (Basic) or [conv0, conv1, conv2] (Bottleneck). */
  branch: ConvBNSpec[];
  /** Projection shortcut (`short`), first block of each stage only. */
  short?: ConvBNSpec;
}

export interface ArchSpec {
  depth: Depth;
  numClasses: number;
  featureDim: number;
  stem: ConvBNSpec[];
  blocks: BlockSpec[];
}

/** One parameter of the state dict in PaddleVideo's order and layout. */
export interface ParamSpec {
  /** Structured key, e.g. `backbone.conv1_1._batch_norm._mean`. */
  key: string;
  /** Internal name, e.g. `bnv1_1_mean`. */
  internal: string;
  /** Paddle layout: conv `[O, I, kh, kw]`, BN `[O]`, fc weight `[in, out]`, fc bias `[out]`. */
  shape: number[];
  kind: 'conv' | 'bn_weight' | 'bn_bias' | 'bn_mean' | 'bn_variance' | 'fc_weight' | 'fc_bias';
}

function convName(stage: number, block: number, depth: Depth): string {
  // PaddleVideo names stage-3 blocks of the deep nets res4a, res4b1, res4b2, … (docs/contract.md §2).
  if (depth >= 101 && stage === 2) return `res${stage + 2}${block === 0 ? 'a' : `b${block}`}`;
  return `res${stage + 2}${String.fromCharCode(97 + block)}`;
}

function convBN(
  key: string,
  internal: string,
  bnInternal: string,
  inChannels: number,
  outChannels: number,
  kernel: number,
  stride: number,
  act: boolean,
  avgPoolFirst = false,
): ConvBNSpec {
  return { key, internal, bnInternal, inChannels, outChannels, kernel, stride, act, avgPoolFirst };
}

/** The full layer plan of PP-TSN for a depth and class count. */
export function archSpec(depth: Depth, numClasses: number): ArchSpec {
  if (!isDepth(depth)) throw new RangeError(`unsupported ResNet-vd depth ${String(depth)}; use one of ${DEPTHS.join(', ')}`);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`class count must be a positive integer, got ${numClasses}`);
  const stem = [
    convBN('backbone.conv1_1', 'conv1_1', 'bnv1_1', 3, 32, 3, 2, true),
    convBN('backbone.conv1_2', 'conv1_2', 'bnv1_2', 32, 32, 3, 1, true),
    convBN('backbone.conv1_3', 'conv1_3', 'bnv1_3', 32, 64, 3, 1, true),
  ];
  const bottleneck = isBottleneck(depth);
  const expansion = bottleneck ? 4 : 1;
  const blocks: BlockSpec[] = [];
  let inCh = 64;
  STAGE_BLOCKS[depth].forEach((count, stage) => {
    const filters = STAGE_FILTERS[stage]!;
    for (let i = 0; i < count; i++) {
      const key = `backbone.bb_${stage}_${i}`;
      const name = convName(stage, i, depth);
      const stride = i === 0 && stage > 0 ? 2 : 1;
      const conv = (suffix: string, cin: number, cout: number, k: number, s: number, act: boolean, pool = false) =>
        convBN(`${key}.${suffix.split(':')[0]}`, `${name}_${suffix.split(':')[1]}`, `bn${name.slice(3)}_${suffix.split(':')[1]}`, cin, cout, k, s, act, pool);
      const branch = bottleneck
        ? [
            conv('conv0:branch2a', inCh, filters, 1, 1, true),
            conv('conv1:branch2b', filters, filters, 3, stride, true),
            conv('conv2:branch2c', filters, filters * 4, 1, 1, false),
          ]
        : [conv('conv0:branch2a', inCh, filters, 3, stride, true), conv('conv1:branch2b', filters, filters, 3, 1, false)];
      // The vd tweak: the projection shortcut is AvgPool(2,2) → 1×1 conv stride 1, except in stage 1 (bb_0_0).
      const short = i === 0 ? conv('short:branch1', inCh, filters * expansion, 1, 1, false, stage > 0) : undefined;
      blocks.push({ key, stage, index: i, stride, branch, ...(short ? { short } : {}) });
      inCh = filters * expansion;
    }
  });
  return { depth, numClasses, featureDim: featureDim(depth), stem, blocks };
}

/** Every ConvBN of the network in state-dict order: stem, then each block's conv0, conv1, [conv2], [short]. */
export function convBNLayers(arch: ArchSpec): ConvBNSpec[] {
  return [...arch.stem, ...arch.blocks.flatMap((b) => [...b.branch, ...(b.short ? [b.short] : [])])];
}

/**
 * Every parameter in PaddleVideo's state-dict order (the order `paddle.save` writes and the seeded golden
 * weights are drawn in): per ConvBN `_conv.weight`, `_batch_norm.weight`, `.bias`, `._mean`, `._variance`;
 * then `head.fc.weight` `[F, classes]` and `head.fc.bias`.
 */
export function paramSpecs(arch: ArchSpec): ParamSpec[] {
  const out: ParamSpec[] = [];
  for (const l of convBNLayers(arch)) {
    out.push({ key: `${l.key}._conv.weight`, internal: `${l.internal}_weights`, shape: [l.outChannels, l.inChannels, l.kernel, l.kernel], kind: 'conv' });
    out.push({ key: `${l.key}._batch_norm.weight`, internal: `${l.bnInternal}_scale`, shape: [l.outChannels], kind: 'bn_weight' });
    out.push({ key: `${l.key}._batch_norm.bias`, internal: `${l.bnInternal}_offset`, shape: [l.outChannels], kind: 'bn_bias' });
    out.push({ key: `${l.key}._batch_norm._mean`, internal: `${l.bnInternal}_mean`, shape: [l.outChannels], kind: 'bn_mean' });
    out.push({ key: `${l.key}._batch_norm._variance`, internal: `${l.bnInternal}_variance`, shape: [l.outChannels], kind: 'bn_variance' });
  }
  out.push({ key: 'head.fc.weight', internal: 'fc_0.w_0', shape: [arch.featureDim, arch.numClasses], kind: 'fc_weight' });
  out.push({ key: 'head.fc.bias', internal: 'fc_0.b_0', shape: [arch.numClasses], kind: 'fc_bias' });
  return out;
}

/** Count of stage blocks → depth; Basic and Bottleneck nets of equal block counts (34/50) differ by conv2. */
export function inferArch(keys: Iterable<string>, fcWeightShape: readonly number[] | undefined): { depth: Depth; numClasses: number } {
  const perStage = [0, 0, 0, 0];
  let hasConv2 = false;
  for (const k of keys) {
    const m = /^backbone\.bb_(\d+)_(\d+)\./.exec(k);
    if (m) {
      const s = Number(m[1]);
      if (s < 4) perStage[s] = Math.max(perStage[s]!, Number(m[2]) + 1);
      if (k.includes('.conv2.')) hasConv2 = true;
    }
  }
  const depth = DEPTHS.find((d) => STAGE_BLOCKS[d].every((n, i) => n === perStage[i]) && isBottleneck(d) === hasConv2);
  if (depth === undefined) {
    throw new RangeError(`blocks per stage [${perStage.join(', ')}] (${hasConv2 ? 'bottleneck' : 'basic'}) match no ResNet-vd depth (${DEPTHS.join(', ')})`);
  }
  if (!fcWeightShape || fcWeightShape.length !== 2) throw new RangeError('head.fc.weight is missing or not 2-D: cannot tell the class count');
  return { depth, numClasses: fcWeightShape[1]! };
}

/** Trainable parameters + BN statistics of a plan, e.g. depth 50 × 400 classes = 24,346,864 + 53,248. */
export function parameterCounts(arch: ArchSpec): { trainable: number; bnStatistics: number; tensors: number } {
  let trainable = 0;
  let bnStatistics = 0;
  const specs = paramSpecs(arch);
  for (const p of specs) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (p.kind === 'bn_mean' || p.kind === 'bn_variance') bnStatistics += n;
    else trainable += n;
  }
  return { trainable, bnStatistics, tensors: specs.length };
}
