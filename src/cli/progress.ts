/**
 * A one-line progress meter on stderr, redrawn in place (`\r`) at most five times a second, ended with a newline
 * when done. The CLI draws it only on a terminal or with `--progress` (see command.ts), never on stdout.
 */
export type ProgressFn = (done: number, total: number | undefined) => void;

const mb = (n: number) => (n / 1048576).toFixed(1);

/** Byte counts as MB (downloads). */
export const bytesUnit = (done: number, total: number | undefined) => `${mb(done)}${total ? `/${mb(total)}` : ''} MB`;

/** Plain counts, e.g. `120/250 images`. */
export const countUnit = (noun: string) => (done: number, total: number | undefined) => `${done}${total ? `/${total}` : ''} ${noun}`;

export function progressMeter(label: string, unit: (done: number, total: number | undefined) => string = bytesUnit, write: (s: string) => void = (s) => process.stderr.write(s)): ProgressFn {
  let last = 0;
  let finished = false;
  return (done, total) => {
    if (finished) return;
    const complete = total !== undefined && done >= total;
    const now = Date.now();
    if (now - last < 200 && !complete) return;
    last = now;
    const pct = total ? ` ${((100 * done) / total).toFixed(0)}%` : '';
    write(`\r${label}: ${unit(done, total)}${pct}${complete ? '\n' : ''}`);
    finished = complete;
  };
}
