/** The fine-tune panel's "Record 3 s": a webcam clip recorded with MediaRecorder and added to a class. */
import type { PanelClip } from './finetuneStore.js';
import { $, runTask } from './ui.js';

export async function recordClip(c: { name: string; clips: PanelClip[] }, done: () => void): Promise<void> {
  await runTask(`Recording 3 s for “${c.name}”`, async (task) => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    try {
      const preview = $<HTMLVideoElement>('video');
      preview.srcObject = stream;
      await preview.play().catch(() => undefined);
      const type = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm', 'video/mp4'].find((t) => MediaRecorder.isTypeSupported(t));
      const recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
      const chunks: Blob[] = [];
      recorder.ondataavailable = (ev) => chunks.push(ev.data);
      const stopped = new Promise((r) => (recorder.onstop = r));
      recorder.start();
      const t0 = performance.now();
      while (performance.now() - t0 < 3000 && !task.signal.aborted) {
        task.progress(`Recording 3 s for “${c.name}”`, performance.now() - t0, 3000, `${((performance.now() - t0) / 1000).toFixed(1)} s`);
        await new Promise((r) => setTimeout(r, 100));
      }
      recorder.stop();
      await stopped;
      preview.srcObject = null;
      if (task.signal.aborted) return;
      const ext = (recorder.mimeType || 'video/webm').includes('mp4') ? 'mp4' : 'webm';
      c.clips.push(new File(chunks, `${c.name}-${c.clips.length + 1}.${ext}`, { type: recorder.mimeType || 'video/webm' }));
    } finally {
      stream.getTracks().forEach((t) => t.stop());
    }
  });
  done();
}
