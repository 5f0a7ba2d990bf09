/**
 * Which video track of a file the browser paths read, and whether the file is whole (src/video/demux.ts uses both):
 * decord's track (core/frames/streamChoice.ts over mediabunny's video tracks), and files cut short, which
 * mediabunny reads only in part. No DOM; works in a worker.
 */
import { EncodedPacketSink, type Input, type InputVideoTrack } from 'mediabunny';
import { PPTSNError } from '../core/errors.js';
import { bestVideoStream } from '../core/frames/streamChoice.js';
import { matroskaSegmentEnd, matroskaTailCut, readHead, readTail, type DemuxSource } from './sniff.js';

/** One listed packet, as isCutShort needs it. */
interface PacketTime {
  timestamp: number;
}

/**
 * A file cut short (an interrupted download or recording) that this demuxer reads only in part: mediabunny lists
 * fewer frames than ffmpeg decodes (a WebM's incomplete last cluster) or frames with no data (an MP4 whose index
 * comes first). frames.ts hands such a file to ffmpeg.wasm, which counts what ffmpeg does, or refuses it with this.
 */
export class CutShortError extends PPTSNError {
  constructor(container: string) {
    super(
      'decode-failed',
      `The ${container} file is cut short (an interrupted download or recording?): its last frames are incomplete, and this path cannot count the frames ffmpeg decodes from it. Get the complete file again, or read it where the ffmpeg.wasm fallback is available (the library's worker always has it).`,
    );
  }
}

/**
 * The video track decord reads: av_find_best_stream's rule (core/frames/streamChoice.ts) over the file's video
 * tracks, which mediabunny's own primary track does not follow (it prefers a track paired with audio). The bit rate
 * is the container's as ffmpeg reads it: MP4/MOV's `btrt`, else bytes · 8 / duration (mov.c); Matroska and MPEG-TS
 * give none (0). A lone video track is listed once, by openVideo.
 */
export async function chooseTrack(input: Input, containerName: string): Promise<{ track: InputVideoTrack; streamIndex: number; videoTracks: number } | null> {
  const all = await input.getTracks();
  const videos = all.filter((t): t is InputVideoTrack => t.isVideoTrack());
  if (videos.length <= 1) return videos[0] ? { track: videos[0], streamIndex: all.indexOf(videos[0]), videoTracks: videos.length } : null;
  const isobmff = /MP4|QuickTime|MOV/i.test(containerName);
  const candidates = await Promise.all(videos.map(async (t) => {
    const d = await t.getDisposition();
    let count = 0, bytes = 0, first = Infinity, end = -Infinity;
    for await (const p of new EncodedPacketSink(t).packets(undefined, undefined, { metadataOnly: true })) {
      count++;
      bytes += p.byteLength;
      first = Math.min(first, p.timestamp);
      end = Math.max(end, p.timestamp + p.duration);
    }
    let bitRate = 0;
    if (isobmff) {
      const tagged = await t.getAverageBitrate().catch(() => null);
      bitRate = tagged && tagged > 0 ? tagged : end > first ? Math.floor((bytes * 8) / (end - first)) : 0;
    }
    // Every video track counts as decodable: ffmpeg (decord) decodes what mediabunny cannot name, and a chosen track
    // WebCodecs cannot decode goes to ffmpeg.wasm, which chooses the same one.
    return { index: all.indexOf(t), decodable: true, isDefault: d.default, hearingImpaired: d.hearingImpaired, visualImpaired: d.visuallyImpaired, frameCount: count, bitRate };
  }));
  const best = bestVideoStream(candidates);
  const track = videos.find((t) => all.indexOf(t) === best) ?? videos[0]!;
  return { track, streamIndex: all.indexOf(track), videoTracks: videos.length };
}

/**
 * Whether the file ends before its last packet (docs/contract.md §4, files cut short). MP4/MOV: the last packet the
 * index lists has no data in the file. Matroska/WebM: the Segment's declared size runs past the end of the file, or
 * (no declared size: live recordings) the last cluster's last element does (the last cluster is incomplete, and
 * mediabunny drops the frames ffmpeg still decodes from it).
 */
export async function isCutShort(input: Input, containerName: string, sink: EncodedPacketSink, packets: readonly PacketTime[], source: DemuxSource): Promise<boolean> {
  if (/MP4|QuickTime|MOV/i.test(containerName) && packets.length > 0) {
    const last = packets.reduce((a, b) => (b.timestamp > a.timestamp ? b : a), packets[0]!);
    const p = await sink.getPacket(last.timestamp, { verifyKeyPackets: false }).catch(() => null);
    return !p || (p.byteLength > 0 && p.data.byteLength === 0);
  }
  if (/WebM|Matroska/i.test(containerName)) {
    const size = await input.source.getSizeOrNull().catch(() => null);
    const head = await readHead(source, 64).catch(() => null);
    if (!size || !head) return false;
    const end = matroskaSegmentEnd(head);
    if (end !== null) return end > size;
    // No declared size (a live recording, MediaRecorder's): is the last cluster whole? (2 MB holds a few seconds.)
    const tail = await readTail(source, size, 2 << 20).catch(() => null);
    return tail ? matroskaTailCut(tail.bytes, tail.start, size) === true : false;
  }
  return false;
}
