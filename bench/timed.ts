/** A runtime the interleaved network bench times (the page's tfjs, native PyTorch, onnxruntime): images → seconds. */
export interface Timed {
  name: string;
  time(n: number): Promise<number>;
  close(): Promise<void>;
}
