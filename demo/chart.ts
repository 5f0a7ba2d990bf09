/**
 * A small canvas line chart for training: loss (left axis, auto-scaled) and accuracy (right axis, 0–100 %) per
 * epoch. Drawn at the device pixel ratio so it stays sharp; redrawn from scratch on every point (a few hundred at most).
 */
export interface EpochPoint {
  epoch: number;
  loss: number;
  /** Training or validation accuracy in [0, 1], when known. */
  accuracy?: number;
}

export function drawChart(canvas: HTMLCanvasElement, points: EpochPoint[], totalEpochs: number): void {
  const dpr = globalThis.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 640;
  const cssH = Math.round(cssW < 500 ? cssW * 0.55 : 200);
  if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  const pad = { l: 40, r: 44, t: 12, b: 26 };
  const w = cssW - pad.l - pad.r;
  const h = cssH - pad.t - pad.b;
  ctx.font = '11px system-ui, sans-serif';
  ctx.strokeStyle = '#d9dde5';
  ctx.fillStyle = '#5b6475';
  ctx.lineWidth = 1;
  ctx.strokeRect(pad.l, pad.t, w, h);

  const maxEpoch = Math.max(1, totalEpochs, ...points.map((p) => p.epoch));
  const maxLoss = Math.max(1e-6, ...points.map((p) => p.loss)) * 1.05;
  const x = (e: number) => pad.l + (w * e) / maxEpoch;
  const yLoss = (l: number) => pad.t + h - (h * l) / maxLoss;
  const yAcc = (a: number) => pad.t + h - h * a;

  ctx.textAlign = 'right';
  ctx.fillText(maxLoss.toFixed(2), pad.l - 4, pad.t + 8);
  ctx.fillText('0', pad.l - 4, pad.t + h);
  ctx.textAlign = 'left';
  ctx.fillText('100 %', pad.l + w + 4, pad.t + 8);
  ctx.fillText('0 %', pad.l + w + 4, pad.t + h);
  ctx.textAlign = 'center';
  ctx.fillText(`epoch (of ${maxEpoch})`, pad.l + w / 2, cssH - 6);

  const line = (color: string, pts: [number, number][]) => {
    if (pts.length === 0) return;
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    pts.forEach(([px, py], i) => (i === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py)));
    ctx.stroke();
    for (const [px, py] of pts) ctx.fillRect(px - 2, py - 2, 4, 4);
  };
  line('#dc2626', points.map((p) => [x(p.epoch), yLoss(p.loss)]));
  line('#16a34a', points.filter((p) => p.accuracy !== undefined).map((p) => [x(p.epoch), yAcc(p.accuracy!)]));

  ctx.textAlign = 'left';
  ctx.fillStyle = '#dc2626';
  ctx.fillText('■ loss', pad.l + 6, pad.t + 14);
  ctx.fillStyle = '#16a34a';
  ctx.fillText('■ accuracy', pad.l + 54, pad.t + 14);
}

/** A chart point from an epoch: its training loss, and its validation accuracy (training accuracy without a split). */
export function toPoint(e: { epoch: number; loss: number; accuracy: number; valAccuracy?: number }): EpochPoint {
  const accuracy = e.valAccuracy ?? e.accuracy;
  return { epoch: e.epoch, loss: e.loss, ...(Number.isFinite(accuracy) ? { accuracy } : {}) };
}
