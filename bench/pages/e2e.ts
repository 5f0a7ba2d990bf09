export interface E2EOptions { x?: number }
export type E2EResult = Record<string, unknown>;
export async function e2e(_o: E2EOptions): Promise<E2EResult> { return {}; }
