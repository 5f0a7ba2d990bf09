/**
 * What a file's first bytes say, for the demuxer (src/video/demux.ts) and its error messages: the container by its
 * magic bytes, the video codec where the container names it up front (an AVI's FourCC, an MPEG-TS PMT's stream
 * type: mediabunny skips MPEG-2 and MPEG-4 Part 2 in TS, and the message must still name them), and where a
 * Matroska Segment ends by its header or, for a live recording, whether its last cluster is whole (a file cut short
 * ends before it). No DOM; works in a worker.
 */
/** Sources the demuxer can open. */
export type DemuxSource = Blob | string | URL;

/** The first `n` bytes of a source. */
export async function readHead(source: DemuxSource, n: number): Promise<Uint8Array> {
  if (source instanceof Blob) return new Uint8Array(await source.slice(0, n).arrayBuffer());
  const r = await fetch(String(source), { headers: { Range: `bytes=0-${n - 1}` } });
  return new Uint8Array(await r.arrayBuffer()).subarray(0, n);
}

/** The last `n` bytes of a source of `size` bytes, and where they start. */
export async function readTail(source: DemuxSource, size: number, n: number): Promise<{ bytes: Uint8Array; start: number }> {
  const start = Math.max(0, size - n);
  if (source instanceof Blob) return { bytes: new Uint8Array(await source.slice(start, size).arrayBuffer()), start };
  const r = await fetch(String(source), { headers: { Range: `bytes=${start}-${size - 1}` } });
  return { bytes: new Uint8Array(await r.arrayBuffer()).subarray(0, size - start), start };
}

/** An EBML variable-length integer at `o`: its value (null when all ones: unknown size) and length. */
function ebmlVint(b: Uint8Array, o: number): { value: number | null; length: number } | null {
  const first = b[o];
  if (first === undefined || first === 0) return null;
  let length = 1;
  while (!(first & (0x80 >> (length - 1)))) length++;
  if (o + length > b.length) return null;
  let value = first & (0xff >> length);
  let allOnes = value === (0xff >> length);
  for (let k = 1; k < length; k++) {
    value = value * 256 + b[o + k]!;
    allOnes &&= b[o + k] === 0xff;
  }
  return { value: allOnes ? null : value, length };
}

/** An EBML element ID at `o` (1–4 bytes, marker bits kept) and its length, or null. */
function ebmlId(b: Uint8Array, o: number): { id: number; length: number } | null {
  const first = b[o];
  if (first === undefined || first < 0x10) return null;
  const length = first >= 0x80 ? 1 : first >= 0x40 ? 2 : first >= 0x20 ? 3 : 4;
  if (o + length > b.length) return null;
  let id = 0;
  for (let k = 0; k < length; k++) id = id * 256 + b[o + k]!;
  return { id, length };
}

const CLUSTER_TIMECODE = 0xe7;
/** Cluster children: Timecode, Position, PrevSize, SimpleBlock, BlockGroup, SilentTracks, EncryptedBlock, Void, CRC-32. */
const CLUSTER_CHILDREN = new Set([0xe7, 0xa7, 0xab, 0xa3, 0xa0, 0x5854, 0xaf, 0xec, 0xbf]);

/**
 * Whether a Matroska file of `size` bytes ends inside its last cluster, from its last bytes (`tail`, starting at
 * `tailStart`): for files whose Segment and clusters have no declared size (live recordings, MediaRecorder), where
 * `matroskaSegmentEnd` cannot tell. The last cluster is found by its ID followed by its Timecode, and its children are
 * walked: one whose size runs past the end means the file was cut. null when no cluster is found in the tail.
 */
export function matroskaTailCut(tail: Uint8Array, tailStart: number, size: number): boolean | null {
  for (let p = tail.length - 4; p >= 0; p--) {
    if (tail[p] !== 0x1f || tail[p + 1] !== 0x43 || tail[p + 2] !== 0xb6 || tail[p + 3] !== 0x75) continue;
    const clusterSize = ebmlVint(tail, p + 4);
    if (!clusterSize) continue;
    let q = p + 4 + clusterSize.length;
    const first = ebmlId(tail, q);
    if (!first || first.id !== CLUSTER_TIMECODE) continue; // the ID bytes inside a frame, not a cluster
    if (clusterSize.value !== null) return tailStart + q + clusterSize.value > size;
    while (q < tail.length) {
      const id = ebmlId(tail, q);
      if (!id) return true; // the file ends inside an element ID
      if (!CLUSTER_CHILDREN.has(id.id)) return false; // the next top-level element: the cluster is whole
      const len = ebmlVint(tail, q + id.length);
      if (!len) return true;
      if (len.value === null) return null;
      q += id.length + len.length + len.value;
      if (tailStart + q > size) return true;
    }
    return false;
  }
  return null;
}

/** Where a Matroska file's Segment ends by its header (null: unknown size, live recordings), from its first bytes. */
export function matroskaSegmentEnd(head: Uint8Array): number | null {
  // EBML header: ID 1A 45 DF A3, size, content; then Segment: ID 18 53 80 67, size.
  if (head[0] !== 0x1a || head[1] !== 0x45 || head[2] !== 0xdf || head[3] !== 0xa3) return null;
  const ebml = ebmlVint(head, 4);
  if (!ebml || ebml.value === null) return null;
  const seg = 4 + ebml.length + ebml.value;
  if (head[seg] !== 0x18 || head[seg + 1] !== 0x53 || head[seg + 2] !== 0x80 || head[seg + 3] !== 0x67) return null;
  const size = ebmlVint(head, seg + 4);
  if (!size || size.value === null) return null;
  return seg + 4 + size.length + size.value;
}

/**
 * Names a container from its magic bytes (and, for AVI, the video codec FourCC), for error messages about files
 * mediabunny does not read.
 */
export async function sniffContainer(source: DemuxSource, signal?: AbortSignal): Promise<{ container: string | null; codec: string | null; empty: boolean }> {
  let head: Uint8Array;
  if (source instanceof Blob) {
    head = new Uint8Array(await source.slice(0, 65536).arrayBuffer());
  } else {
    const r = await fetch(String(source), { headers: { Range: 'bytes=0-65535' }, signal: signal ?? null });
    head = new Uint8Array(await r.arrayBuffer()).subarray(0, 65536);
  }
  if (head.length === 0) return { container: null, codec: null, empty: true };
  // latin1 keeps one char per byte; no String.fromCharCode(...bytes), whose 64 K arguments overflow a worker's stack.
  const latin1 = new TextDecoder('latin1');
  const ascii = (o: number, n: number) => latin1.decode(head.subarray(o, o + n));
  if (ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'AVI ') {
    // strh: 'strh' size fccType('vids') fccHandler — the handler names the codec.
    const text = ascii(0, head.length);
    const at = text.indexOf('vids');
    const fourcc = at >= 0 ? text.slice(at + 4, at + 8) : '';
    return { container: 'AVI', codec: fourcc ? codecFromFourcc(fourcc) : null, empty: false };
  }
  if (ascii(4, 4) === 'ftyp') return { container: 'MP4/QuickTime', codec: null, empty: false };
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return { container: 'Matroska/WebM', codec: null, empty: false };
  if (ascii(0, 3) === 'FLV') return { container: 'FLV', codec: null, empty: false };
  if (head[0] === 0x30 && head[1] === 0x26 && head[2] === 0xb2 && head[3] === 0x75) return { container: 'ASF/WMV', codec: null, empty: false };
  if (head[0] === 0x00 && head[1] === 0x00 && head[2] === 0x01 && head[3] === 0xba) return { container: 'MPEG-PS', codec: null, empty: false };
  if (head[0] === 0x47 && head[188] === 0x47 && (head.length < 377 || head[376] === 0x47)) return { container: 'MPEG-TS', codec: tsVideoCodec(head), empty: false };
  return { container: null, codec: null, empty: false };
}

/** MPEG-TS PMT stream types of video (ISO/IEC 13818-1 table 2-34, and the registered ones). */
const TS_VIDEO: Record<number, string> = { 0x01: 'MPEG-1', 0x02: 'MPEG-2', 0x10: 'MPEG-4 Part 2', 0x1b: 'H.264', 0x24: 'HEVC', 0x42: 'AVS', 0xea: 'VC-1' };

/** The first video codec a transport stream's PMT lists (from its first 64 KB), or null. */
function tsVideoCodec(head: Uint8Array): string | null {
  for (let o = 0; o + 188 <= head.length; o += 188) {
    if (head[o] !== 0x47 || !(head[o + 1]! & 0x40)) continue; // payload unit start only
    let p = o + 4;
    const afc = (head[o + 3]! >> 4) & 3;
    if (afc === 2) continue;
    if (afc === 3) p += 1 + head[p]!;
    p += 1 + head[p]!; // pointer field
    if (head[p] !== 0x02) continue; // table_id: program map section
    const sectionLength = ((head[p + 1]! & 0x0f) << 8) | head[p + 2]!;
    const end = Math.min(p + 3 + sectionLength - 4, o + 188);
    let q = p + 12 + (((head[p + 10]! & 0x0f) << 8) | head[p + 11]!);
    while (q + 5 <= end) {
      const type = head[q]!;
      if (TS_VIDEO[type]) return TS_VIDEO[type];
      q += 5 + (((head[q + 3]! & 0x0f) << 8) | head[q + 4]!);
    }
  }
  return null;
}

function codecFromFourcc(fourcc: string): string {
  const f = fourcc.toUpperCase();
  if (['XVID', 'DIVX', 'DX50', 'FMP4', 'MP4V', 'DIV3', 'MP42', 'MP43'].includes(f)) return `MPEG-4 Part 2 (${fourcc})`;
  if (['H264', 'AVC1', 'X264'].includes(f)) return `H.264 (${fourcc})`;
  if (['MJPG', 'JPEG'].includes(f)) return `Motion JPEG (${fourcc})`;
  if (['HEVC', 'H265', 'HVC1', 'HEV1'].includes(f)) return `HEVC (${fourcc})`;
  return `'${fourcc.replace(/[^\x20-\x7e]/g, '?')}'`;
}
