/**
 * A dropped rawframes folder (PaddleVideo's img_00001.jpg, … as the tutorial extracts them): the folder itself
 * (a FileSystemDirectoryHandle where the browser gives one) or the frame files selected and dropped together.
 * pptsn-web reads only the sampled frames.
 */
import type { RawframesSource } from '../src/index.js';
import { showError } from './ui.js';

const FRAME = /^img_\d{5,}\.jpg$/i;

type HandleItem = DataTransferItem & { getAsFileSystemHandle?(): Promise<FileSystemHandle | null> };

/**
 * What was dropped, item by item: a folder as its directory handle (where the browser gives one:
 * `getAsFileSystemHandle`), anything else as its File. Must be called inside the drop event (the items expire when
 * it returns). Without items (an older browser) the drop's files.
 */
export function droppedEntries(ev: DragEvent): Promise<(File | FileSystemDirectoryHandle)[]> {
  const items = [...(ev.dataTransfer?.items ?? [])].filter((i) => i.kind === 'file') as HandleItem[];
  if (items.length === 0) return Promise.resolve([...(ev.dataTransfer?.files ?? [])]);
  const read = items.map((i) => ({ file: i.getAsFile(), handle: typeof i.getAsFileSystemHandle === 'function' ? i.getAsFileSystemHandle().catch(() => null) : null }));
  return Promise.all(read.map(async ({ file, handle }) => {
    const h = await handle;
    return h && h.kind === 'directory' ? (h as FileSystemDirectoryHandle) : file;
  })).then((list) => list.filter((x): x is File | FileSystemDirectoryHandle => x !== null));
}

const isFolder = (x: File | FileSystemDirectoryHandle): x is FileSystemDirectoryHandle => !(x instanceof File);

/**
 * Starts reading a drop as rawframes. Must be called inside the drop event (the items expire when it returns);
 * resolves to the source, or null when the drop is not a rawframes folder.
 */
export function rawframesFromDrop(ev: DragEvent): Promise<{ source: RawframesSource; name: string } | null> {
  return droppedEntries(ev).then((list) => {
    const folder = list.find(isFolder);
    if (folder) return { source: folder, name: folder.name };
    const frames = list.filter((f): f is File => !isFolder(f) && FRAME.test(f.name));
    return frames.length ? { source: frames, name: `${frames.length} frames` } : null;
  });
}

/** A folder's img_*.jpg files in frame order (lazy Files: nothing is read until a frame is sampled). */
async function framesOfFolder(dir: FileSystemDirectoryHandle): Promise<File[]> {
  const frames: File[] = [];
  for await (const [name, h] of (dir as FileSystemDirectoryHandle & AsyncIterable<[string, FileSystemHandle]>)) {
    if (h.kind === 'file' && FRAME.test(name)) frames.push(await (h as FileSystemFileHandle).getFile());
  }
  return frames.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * A drop on a panel's clip zone (a fine-tune class row, the smaller-model panel), read as the page-wide classify
 * drop reads it: each dropped rawframes folder is one clip of its frames; the other files are returned as they are
 * (the panel decides what it takes). A folder without img_*.jpg files is refused with a message naming it.
 * Must be called inside the drop event.
 */
export function clipsFromDrop(ev: DragEvent): Promise<{ folders: { name: string; frames: File[] }[]; files: File[] }> {
  return droppedEntries(ev).then(async (list) => {
    const folders: { name: string; frames: File[] }[] = [];
    for (const d of list.filter(isFolder)) {
      const frames = await framesOfFolder(d);
      if (frames.length) folders.push({ name: `${d.name} (${frames.length} frames)`, frames });
      else showError(new Error(`“${d.name}”: no rawframes in this folder (img_00001.jpg, img_00002.jpg, … as PaddleVideo's extract_rawframes.py writes them).`));
    }
    return { folders, files: list.filter((f): f is File => !isFolder(f)) };
  });
}
