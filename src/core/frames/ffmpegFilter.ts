/**
 * The ffmpeg filtergraph both ffmpeg paths run (the CLI's system ffmpeg, src/node/ffmpeg.ts, and ffmpeg.wasm in
 * the browser, src/video/ffmpegWasm.ts), so their frames are the same: `select` lets only the wanted presented
 * frames through (ffmpeg's default autorotation runs before it, and frames an edit list hides never reach it), then
 * one swscale step at the display size to RGB24 with the stream's matrix and range (framePlan.ts `colorOf`).
 */
import type { FramePlan } from './framePlan.js';

/** `-vf` value for the sorted, unique presented indices `wanted` (the comma inside eq() escaped for the parser). */
export function ffmpegFrameFilter(wanted: readonly number[], plan: Pick<FramePlan, 'width' | 'height' | 'color'>): string {
  const select = `select=${wanted.map((i) => `eq(n\\,${i})`).join('+')}`;
  return `${select},${ffmpegRgbFilter(plan)}`;
}

/** The conversion part alone (every frame: `pptsn-web prepare rawframes`): swscale at the display size to RGB24. */
export function ffmpegRgbFilter(plan: Pick<FramePlan, 'width' | 'height' | 'color'>): string {
  return `scale=w=${plan.width}:h=${plan.height}:in_color_matrix=${plan.color.matrix}:in_range=${plan.color.fullRange ? 'pc' : 'tv'},format=rgb24`;
}

/**
 * ffprobe `-show_entries` for what `videoInfoFromFfprobe` reads, run with `-select_streams v` (every video stream:
 * streamChoice.ts picks one as decord does). Packet flags: 'D' = hidden by the edit list.
 */
export const FFPROBE_ENTRIES =
  'packet=stream_index,flags:stream=index,nb_frames,codec_type,codec_name,codec_long_name,width,height,r_frame_rate,avg_frame_rate,pix_fmt,color_space,color_range,color_transfer,color_primaries,duration,bit_rate:stream_disposition=default,hearing_impaired,visual_impaired,attached_pic:stream_side_data=rotation:format=format_name,format_long_name,duration';

/** ffprobe's stream selection for FFPROBE_ENTRIES: all video streams. */
export const FFPROBE_SELECT = ['-select_streams', 'v'];
