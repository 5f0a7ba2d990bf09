/**
 * A dropped rawframes folder (PaddleVideo's img_00001.jpg, … as the tutorial extracts them): the folder itself
 * (a FileSystemDirectoryHandle where the browser gives one) or the frame files selected and dropped together.
 * pptsn-web reads only the sampled frames.
 */
import type { RawframesSource } from '../src/index.js';

const FRAME = /^img_\d{5,}\.jpg$/i;

/**
 * Starts reading a drop as rawframes. Must be called inside the drop event (the items expire when it returns);
 * resolves to the source, or null when the drop is not a rawframes folder.
 */
export function rawframesFromDrop(ev: DragEvent): Promise<{ source: RawframesSource; name: string } | null> {
  const items = [...(ev.dataTransfer?.items ?? [])];
  const files = [...(ev.dataTransfer?.files ?? [])];
  const handles = items
    .filter((i) => i.kind === 'file' && typeof (i as DataTransferItem & { getAsFileSystemHandle?: unknown }).getAsFileSystemHandle === 'function')
    .map((i) => (i as DataTransferItem & { getAsFileSystemHandle(): Promise<FileSystemHandle | null> }).getAsFileSystemHandle().catch(() => null));
  return (async () => {
    for (const h of await Promise.all(handles)) {
      if (h && h.kind === 'directory') return { source: h as FileSystemDirectoryHandle, name: h.name };
    }
    const frames = files.filter((f) => FRAME.test(f.name));
    return frames.length ? { source: frames, name: `${frames.length} frames` } : null;
  })();
}
