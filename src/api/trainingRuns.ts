/** The page's view of stored fine-tuning runs (IndexedDB, written by the worker's TrainerStore). */
import { TrainerStore, type TrainingRunInfo } from '../common/trainerStore.js';

export type { TrainingRunInfo };

/** Every stored run, most recently updated first. */
export async function listTrainingRuns(): Promise<TrainingRunInfo[]> {
  const store = await TrainerStore.open();
  try {
    return await store.list();
  } finally {
    store.close();
  }
}

/** Deletes a stored run (clips and checkpoint); false if there was none. */
export async function deleteTrainingRun(name: string): Promise<boolean> {
  const store = await TrainerStore.open();
  try {
    if (!(await store.getRecord(name))) return false;
    await store.delete(name);
    return true;
  } finally {
    store.close();
  }
}
