/**
 * Per-kernel summary of a `tf.profile` of one forward pass: where the milliseconds go (3×3 vs 1×1 convolutions,
 * strided or not, pooling, adds, copies), grouped so the rows mean something to someone tuning the network.
 * A Winograd 3×3 layer (src/core/model/winograd.ts) shows as two groups: its 16 products (1×1 convs right after
 * a depthwise transform; GMAC/s there counts the products' own MACs) and its transforms (the depthwise convs,
 * AddN, Sub and Concat between the first transform and the next ordinary kernel).
 */
export interface ProfileRow {
  group: string;
  calls: number;
  ms: number;
  /** Share of the summed kernel time. */
  share: number;
  /** 10⁹ multiply-accumulates per second for convolution groups. */
  gmacs?: number;
}

interface Kernel {
  name: string;
  inputShapes: number[][];
  outputShapes: number[][];
  kernelTimeMs: number | { error: string } | Promise<number | { error: string }>;
}

function convGroup(k: Kernel): { group: string; macs: number } {
  const f = k.inputShapes[1] ?? [];
  const [kh, kw, cin, cout] = f as [number, number, number, number];
  const out = k.outputShapes[0] ?? [];
  const x = k.inputShapes[0] ?? [];
  const stride = x[1] && out[1] ? Math.round(x[1] / out[1]) : 1;
  const macs = (out[0] ?? 0) * (out[1] ?? 0) * (out[2] ?? 0) * kh * kw * cin;
  const what = cin === 3 ? 'stem 3×3 s2 (3 in)' : `${kh}×${kw}${stride > 1 ? ' s2' : ''}`;
  return { group: `conv ${what}`, macs: macs * cout };
}

export async function summarizeProfile(kernels: Kernel[]): Promise<ProfileRow[]> {
  const groups = new Map<string, { calls: number; ms: number; macs: number }>();
  let total = 0;
  let prev = '';
  let inWinograd = false;
  for (const k of kernels) {
    // `fusedConv2d__op` and friends are the op's gradient wrapper around the real kernel: counting them would
    // count the convolutions twice.
    if (k.name.endsWith('__op')) continue;
    const t = await k.kernelTimeMs;
    const ms = typeof t === 'number' ? t : 0;
    let group = k.name;
    let macs = 0;
    if (k.name === 'DepthwiseConv2dNative') inWinograd = true;
    if ((k.name === 'FusedConv2D' || k.name === 'Conv2D') && prev === 'DepthwiseConv2dNative') {
      group = 'winograd 3×3: products (1×1)';
      macs = convGroup(k).macs;
    } else if (inWinograd && ['DepthwiseConv2dNative', 'AddN', 'Sub', 'Concat', 'Reshape', 'Slice'].includes(k.name)) {
      group = 'winograd 3×3: transforms';
    } else if (k.name === 'FusedConv2D' || k.name === 'Conv2D' || k.name === 'PPTSNTrainConv2D') {
      inWinograd = false;
      const g = convGroup(k);
      group = g.group;
      macs = g.macs;
    } else if (k.name === '_FusedMatMul' || k.name === 'BatchMatMul') {
      const a = k.inputShapes[0] ?? [];
      const b = k.inputShapes[1] ?? [];
      group = 'matMul';
      macs = (a[0] ?? 1) * (a[1] ?? 0) * (a[2] ?? 1) * (b[b.length - 1] ?? 0);
    }
    const g = groups.get(group) ?? { calls: 0, ms: 0, macs: 0 };
    prev = k.name;
    g.calls++;
    g.ms += ms;
    g.macs += macs;
    groups.set(group, g);
    total += ms;
  }
  return [...groups.entries()]
    .map(([group, g]) => ({ group, calls: g.calls, ms: +g.ms.toFixed(2), share: +(g.ms / (total || 1)).toFixed(4), ...(g.macs ? { gmacs: +(g.macs / (g.ms / 1000) / 1e9).toFixed(2) } : {}) }))
    .sort((a, b) => b.ms - a.ms);
}
