/**
 * Which video stream of a file is read: the one decord reads (docs/contract.md §4). decord's VideoReader opens
 * `av_find_best_stream(ctx, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0)`, which is also what players show; ffmpeg's
 * `-map 0:v:0` (the first video stream) is not: a one-frame cover track stored first, or a small preview track
 * before the main one (camera and screen-recorder layouts), would be classified instead. Every reader (the CLI's
 * system ffmpeg and ffmpeg.wasm through ffprobe, the browser's mediabunny tracks) describes its candidates and
 * takes the index this returns. Pure, isomorphic.
 *
 * Mirrors libavformat/avformat.c `av_find_best_stream` (ffmpeg 5.1–7), in stream order:
 * - streams without a decoder are skipped (decord passes `decoder_ret`);
 * - `disposition` = !(hearing_impaired | visual_impaired) + !!default: higher wins;
 * - then `multiframe` = min(5, frames read while probing): a cover image or attached picture (1 frame) loses to
 *   any moving stream;
 * - then the container's bit rate (0 when it gives none);
 * - then the frame count; on a full tie the earlier stream stays.
 * The frames ffmpeg reads while probing (`codec_info_nb_frames`) are not exposed; the stream's packet count stands
 * in for it (the same min(5, …) for every stream of five frames or more, which is every video stream but a still).
 */

/** What a demuxer reports about one video stream. */
export interface StreamCandidate {
  /** The stream's index in the file (ffmpeg's `stream_index`, counting audio and other streams). */
  index: number;
  /** Whether a decoder exists for its codec (ffmpeg knows the codec). */
  decodable: boolean;
  /** Disposition flags (ffmpeg: MP4 `tkhd` enabled, Matroska FlagDefault, …). */
  isDefault: boolean;
  hearingImpaired?: boolean;
  visualImpaired?: boolean;
  /** Packets (frames) of the stream. */
  frameCount: number;
  /** The container's bit rate for the stream in bit/s; 0 when unknown. */
  bitRate: number;
}

/** The index (`StreamCandidate.index`) av_find_best_stream picks, or null when no candidate is decodable. */
export function bestVideoStream(candidates: readonly StreamCandidate[]): number | null {
  let best: number | null = null;
  let bestDisposition = -1, bestMultiframe = -1, bestBitRate = -1, bestCount = -1;
  for (const c of candidates) {
    if (!c.decodable) continue;
    const disposition = (c.hearingImpaired || c.visualImpaired ? 0 : 1) + (c.isDefault ? 1 : 0);
    const count = Math.max(0, c.frameCount);
    const multiframe = Math.min(5, count);
    const bitRate = Number.isFinite(c.bitRate) && c.bitRate > 0 ? c.bitRate : 0;
    if (
      bestDisposition > disposition ||
      (bestDisposition === disposition && bestMultiframe > multiframe) ||
      (bestDisposition === disposition && bestMultiframe === multiframe && bestBitRate > bitRate) ||
      (bestDisposition === disposition && bestMultiframe === multiframe && bestBitRate === bitRate && bestCount >= count)
    ) continue;
    best = c.index;
    bestDisposition = disposition;
    bestMultiframe = multiframe;
    bestBitRate = bitRate;
    bestCount = count;
  }
  return best;
}
