/**
 * Crop boxes of the two presets in the coordinates of the original frame, for drawing on the frame strip.
 * The demo only uses pptsn-web's public API, which does not export its crop geometry, so the few lines of
 * PaddleVideo arithmetic it needs (Scale to short side 256, CenterCrop / TenCrop of 224) are restated here; they
 * only draw rectangles and never feed the network.
 */
export type DemoPreset = 'fast' | 'accurate';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
  /** TenCrop's mirrored copies cover the same area; they are drawn dashed. */
  flip: boolean;
}

const SHORT = 256;
const CROP = 224;

/** PaddleVideo `Scale`: fixed-ratio (accurate preset) → 341×256; keep-ratio with do_round (fast) keeps the aspect. */
function scaled(width: number, height: number, preset: DemoPreset): { width: number; height: number } {
  if ((width <= height && width === SHORT) || (height <= width && height === SHORT)) return { width, height };
  if (preset === 'accurate') return width <= height ? { width: SHORT, height: Math.trunc((SHORT * 4) / 3) } : { width: Math.trunc((SHORT * 4) / 3), height: SHORT };
  const s = SHORT / Math.min(width, height);
  return { width: Math.trunc(width * s + 0.5), height: Math.trunc(height * s + 0.5) };
}

/** The boxes a preset cuts from a frame of `width`×`height`, mapped back onto that frame. */
export function cropBoxes(width: number, height: number, preset: DemoPreset): Box[] {
  if (!(width > 0 && height > 0)) return [];
  const s = scaled(width, height, preset);
  const sx = width / s.width;
  const sy = height / s.height;
  const boxes: Box[] = [];
  if (preset === 'fast') {
    boxes.push({ x: Math.floor((s.width - CROP) / 2), y: Math.floor((s.height - CROP) / 2), width: CROP, height: CROP, flip: false });
  } else {
    const ws = Math.floor((s.width - CROP) / 4);
    const hs = Math.floor((s.height - CROP) / 4);
    for (const [x, y] of [[0, 0], [4 * ws, 0], [0, 4 * hs], [4 * ws, 4 * hs], [2 * ws, 2 * hs]] as const) {
      boxes.push({ x, y, width: CROP, height: CROP, flip: false }, { x, y, width: CROP, height: CROP, flip: true });
    }
  }
  return boxes.map((b) => ({ x: b.x * sx, y: b.y * sy, width: b.width * sx, height: b.height * sy, flip: b.flip }));
}
