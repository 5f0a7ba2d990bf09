/**
 * The page's memory as Chromium measures it (`performance.measureUserAgentSpecificMemory`, bytes), or null where the
 * page is not cross-origin isolated or the measurement fails. Shared by the e2e and train-defaults bench pages.
 */
export async function uaMemory(): Promise<number | null> {
  const p = performance as Performance & { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }> };
  if (!globalThis.crossOriginIsolated || !p.measureUserAgentSpecificMemory) return null;
  try {
    return (await p.measureUserAgentSpecificMemory()).bytes;
  } catch {
    return null;
  }
}
