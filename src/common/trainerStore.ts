/**
 * IndexedDB persistence of fine-tuning runs (in the worker): the trainer record (settings, the pointer to its
 * checkpoint), its clips (frame pools) and its checkpoints. A checkpoint is written under a new key first, then a
 * second transaction flips the record's pointer and deletes the old one, so a crash mid-save leaves the last good
 * checkpoint in place.
 */
import { PPTSNError } from '../core/errors.js';
import type { FramePixels } from '../core/frames/pixels.js';
import type { ResolvedSettings, TrainerCheckpoint } from '../core/train/trainer.js';

const DB_NAME = 'pptsn-web-trainers';
const TRAINERS = 'trainers';
const CLIPS = 'clips';
const CHECKPOINTS = 'checkpoints';

/** A stored trainer. */
export interface TrainerRecord {
  name: string;
  settings: ResolvedSettings;
  /** SHA-256 of the base model's weights, when known (a resume on other weights starts over). */
  baseSha256?: string;
  checkpointKey: string | null;
  updatedAt: string;
  /** Where the last checkpoint stands (absent before the first one), for `trainingRuns()` without reading it. */
  summary?: { epoch: number; iteration: number; accuracy: number | null; checkpointBytes: number };
}

/** A stored run as `PPTSN.trainingRuns()` lists it. */
export interface TrainingRunInfo {
  name: string;
  classes: string[];
  strategy: ResolvedSettings['strategy'];
  /** Epochs done and planned. */
  epoch: number;
  epochs: number;
  iteration: number;
  /** The last epoch's validation accuracy (training accuracy when the run has no validation split); null before. */
  accuracy: number | null;
  clips: number;
  /** Bytes stored: clip frames plus the checkpoint. */
  bytes: number;
  updatedAt: string;
}

/** A stored clip: its frame pool (RGB, capped resolution) and label. */
export interface StoredClip {
  key: string;
  trainer: string;
  id: string;
  label: number;
  frames: FramePixels[];
  /** Where it came from (a file name or URL), for listings. */
  origin: string;
}

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
  });
}

const clipRange = (name: string) => IDBKeyRange.bound(`${name}\u0000`, `${name}\u0000\uffff`);

/** The trainers database of this origin. */
export class TrainerStore {
  private constructor(private readonly db: IDBDatabase) {}

  /** Opens (or creates) the database; throws PPTSNError('storage') where IndexedDB is missing. */
  static async open(): Promise<TrainerStore> {
    const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!idb) throw new PPTSNError('storage', 'IndexedDB is not available, so fine-tuning runs cannot be persisted');
    const open = idb.open(DB_NAME, 1);
    open.onupgradeneeded = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains(TRAINERS)) db.createObjectStore(TRAINERS, { keyPath: 'name' });
      if (!db.objectStoreNames.contains(CLIPS)) db.createObjectStore(CLIPS, { keyPath: 'key' });
      if (!db.objectStoreNames.contains(CHECKPOINTS)) db.createObjectStore(CHECKPOINTS);
    };
    return new TrainerStore(await req(open));
  }

  async getRecord(name: string): Promise<TrainerRecord | undefined> {
    return req(this.db.transaction(TRAINERS).objectStore(TRAINERS).get(name)) as Promise<TrainerRecord | undefined>;
  }

  async putRecord(rec: TrainerRecord): Promise<void> {
    const tx = this.db.transaction(TRAINERS, 'readwrite');
    tx.objectStore(TRAINERS).put(rec);
    await done(tx);
  }

  async clips(name: string): Promise<StoredClip[]> {
    return req(this.db.transaction(CLIPS).objectStore(CLIPS).getAll(clipRange(name))) as Promise<StoredClip[]>;
  }

  static clipKey(name: string, id: string): string {
    return `${name}\u0000${id}`;
  }

  async putClip(clip: StoredClip): Promise<void> {
    const tx = this.db.transaction(CLIPS, 'readwrite');
    tx.objectStore(CLIPS).put(clip);
    await done(tx);
  }

  async deleteClip(name: string, id: string): Promise<void> {
    const tx = this.db.transaction(CLIPS, 'readwrite');
    tx.objectStore(CLIPS).delete(TrainerStore.clipKey(name, id));
    await done(tx);
  }

  async checkpoint(rec: TrainerRecord): Promise<TrainerCheckpoint | undefined> {
    if (!rec.checkpointKey) return undefined;
    return req(this.db.transaction(CHECKPOINTS).objectStore(CHECKPOINTS).get(rec.checkpointKey)) as Promise<TrainerCheckpoint | undefined>;
  }

  /**
   * Writes `cp` under a new key, then flips the record's pointer to it, stores `settings` with it (the epoch count
   * may have been raised since the record was written) and deletes the old checkpoint, in one transaction.
   */
  async saveCheckpoint(name: string, cp: TrainerCheckpoint, settings: TrainerRecord['settings']): Promise<void> {
    const key = `${name}\u0000${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    const t1 = this.db.transaction(CHECKPOINTS, 'readwrite');
    t1.objectStore(CHECKPOINTS).put(cp, key);
    await done(t1);
    const t2 = this.db.transaction([TRAINERS, CHECKPOINTS], 'readwrite');
    const trainers = t2.objectStore(TRAINERS);
    const r = trainers.get(name);
    r.onsuccess = () => {
      const rec = r.result as TrainerRecord | undefined;
      if (!rec) {
        t2.objectStore(CHECKPOINTS).delete(key);
        return;
      }
      const old = rec.checkpointKey;
      const last = cp.history.at(-1);
      const accuracy = last ? (last.valAccuracy ?? last.accuracy) : null;
      const checkpointBytes = [...Object.values(cp.params), ...Object.values(cp.velocity)].reduce((n, a) => n + a.byteLength, 0);
      const summary = { epoch: cp.epoch, iteration: cp.iteration, accuracy: accuracy !== null && Number.isFinite(accuracy) ? accuracy : null, checkpointBytes };
      trainers.put({ ...rec, settings, checkpointKey: key, updatedAt: new Date().toISOString(), summary });
      if (old && old !== key) t2.objectStore(CHECKPOINTS).delete(old);
    };
    await done(t2);
  }

  /** Every stored run, most recently updated first. */
  async list(): Promise<TrainingRunInfo[]> {
    const recs = (await req(this.db.transaction(TRAINERS).objectStore(TRAINERS).getAll())) as TrainerRecord[];
    const out: TrainingRunInfo[] = [];
    for (const r of recs) {
      const clips = await this.clips(r.name);
      const clipBytes = clips.reduce((n, c) => n + c.frames.reduce((m, f) => m + f.data.byteLength, 0), 0);
      out.push({
        name: r.name,
        classes: [...r.settings.classes],
        strategy: r.settings.strategy,
        epoch: r.summary?.epoch ?? 0,
        epochs: r.settings.epochs,
        iteration: r.summary?.iteration ?? 0,
        accuracy: r.summary?.accuracy ?? null,
        clips: clips.length,
        bytes: clipBytes + (r.summary?.checkpointBytes ?? 0),
        updatedAt: r.updatedAt,
      });
    }
    return out.sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0));
  }

  /** Deletes a trainer with its clips and checkpoint. */
  async delete(name: string): Promise<void> {
    const rec = await this.getRecord(name);
    const tx = this.db.transaction([TRAINERS, CLIPS, CHECKPOINTS], 'readwrite');
    tx.objectStore(TRAINERS).delete(name);
    tx.objectStore(CLIPS).delete(clipRange(name));
    if (rec?.checkpointKey) tx.objectStore(CHECKPOINTS).delete(rec.checkpointKey);
    await done(tx);
  }

  close(): void {
    this.db.close();
  }
}
