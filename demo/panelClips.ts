/** What the fine-tune panel takes as a clip: a video file, or one clip's rawframes JPEGs picked together. */
import { isVideoFile } from './classify.js';
import type { PanelClip } from './finetuneStore.js';
import { showError } from './ui.js';

const RAWFRAME = /^img_\d{5,}\.jpe?g$/i;

/**
 * Picked or dropped files as clips: videos one clip each; rawframes JPEGs (img_00001.jpg, …) together one clip,
 * as classify reads them; any other file is refused with a message (it was dropped silently: "0 clips").
 */
export function clipsOf(files: File[]): PanelClip[] {
  const videos = files.filter(isVideoFile);
  const frames = files.filter((f) => RAWFRAME.test(f.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
  const other = files.filter((f) => !isVideoFile(f) && !RAWFRAME.test(f.name));
  if (other.length > 0) showError(new Error(`${other.map((f) => `“${f.name}”`).join(', ')}: not a video. A class takes video files, or one clip's rawframes JPEGs (img_00001.jpg, img_00002.jpg, …) selected together.`));
  return [...videos, ...(frames.length ? [{ name: `${frames.length} frames (${frames[0]!.name}…)`, frames }] : [])];
}

export const clipId = (c: PanelClip) => (c instanceof File ? `${c.name}:${c.size}` : `frames:${c.frames.length}:${c.frames.reduce((n, f) => n + f.size, 0)}:${c.frames[0]?.name}`);


/** Test clips: videos only (classified by the fine-tuned model); anything else is refused with a message. */
export function testClipsOf(files: File[]): File[] {
  const other = files.filter((f) => !isVideoFile(f));
  if (other.length > 0) showError(new Error(`${other.map((f) => `“${f.name}”`).join(', ')}: test clips are video files.`));
  return files.filter(isVideoFile);
}

/** A short stable name for a run: the same classes, clips and settings map to the same stored run. */
export function runName(key: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return `demo-${h.toString(16).padStart(8, '0')}`;
}
