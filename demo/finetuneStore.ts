/**
 * The fine-tune panel's own state in IndexedDB (issue 26: a reload emptied the panel, and a run resumed only if the
 * user re-added the same classes, files and strategy): the classes with their clip files (Files are
 * structured-cloneable, so the bytes are kept), the test clips, strategy, epochs and frames per clip. Written on
 * every change, read once at start-up. The library's own store (clips' frame pools, checkpoints) is separate.
 */
const DB = 'pptsn-demo';
const STORE = 'finetune-panel';
const KEY = 'panel';

/** A clip as the panel holds it: a video file, or a rawframes clip (its img_*.jpg files). */
export type PanelClip = File | { name: string; frames: File[] };

export interface PanelState {
  classes: { name: string; clips: PanelClip[]; test: File[] }[];
  strategy: string;
  epochs: string;
  segments: string;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function tx<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T> | void): Promise<T | undefined> {
  const db = await open();
  try {
    return await new Promise<T | undefined>((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const req = f(t.objectStore(STORE));
      t.oncomplete = () => resolve(req ? req.result : undefined);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  } finally {
    db.close();
  }
}

/** Saves the panel (last write wins; a failure is only logged: the panel works without persistence). */
export function savePanel(state: PanelState): Promise<void> {
  return tx('readwrite', (s) => void s.put(state, KEY)).then(
    () => undefined,
    (e: unknown) => console.warn('the fine-tune panel could not be saved', e),
  );
}

/** The saved panel, or null. */
export async function loadPanel(): Promise<PanelState | null> {
  try {
    return ((await tx<PanelState>('readonly', (s) => s.get(KEY))) as PanelState | undefined) ?? null;
  } catch {
    return null;
  }
}
