#!/usr/bin/env node
/**
 * The `pptsn-web` command: convert PaddleVideo weights, classify videos or PaddleVideo input tensors, export
 * back to `.pdparams`, download the released PP-TSN weights. Any failure prints one line on stderr naming the
 * file and the problem, and exits non-zero (2 for a command line we cannot run, 130 after Ctrl-C).
 *
 * Each command is a module exporting a `Command` (command.ts): its name, usage, its own options and `run`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isPPTSNError } from '../core/errors.js';
import { cleanUpOnInterrupt } from '../node/cleanup.js';
import { classifyCommand } from './classify.js';
import { UsageError, type Command, type OptionSpec, type ParsedArgs } from './command.js';
import { convertCommand } from './convert.js';
import { downloadCommand } from './download.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { prepareCommand } from './prepare.js';
import { trainCommand } from './train.js';

/** The commands, in the order `--help` lists them. A new command is one import and one entry here. */
const COMMANDS: readonly Command[] = [convertCommand, classifyCommand, evalCommand, trainCommand, exportCommand, downloadCommand, prepareCommand];

/** package.json sits two levels above both src/cli/main.ts and dist/cli/main.js. */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `pptsn-web ${version()}: PaddleVideo PP-TSN video classification

Usage:
${COMMANDS.flatMap((c) => c.usage).map((u) => `  pptsn-web ${u}`).join('\n')}
  pptsn-web <command> --help
  pptsn-web --version

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

classify and eval read common videos (8-bit 4:2:0 H.264, HEVC, VP8/VP9, MPEG-1/2, MJPEG) with the built-in
ffmpeg.wasm; other videos (UCF101's MPEG-4 AVIs, 10-bit, 4:2:2/4:4:4, odd heights) need the system's ffmpeg. A folder
of img_00001.jpg, … (PaddleVideo rawframes) needs neither. Progress goes to stderr on a terminal or with --progress.`;
}

function commandHelp(c: Command): string {
  return `Usage:\n${c.usage.map((u) => `  pptsn-web ${u}`).join('\n')}\n\n${c.summary}${c.details ? `\n\n${c.details}` : ''}`;
}

const log = (line: string) => process.stderr.write(line + '\n');

/** parseArgs' own errors (unknown option, missing value, ambiguous value) are usage errors too. */
function parse(argv: string[], options: OptionSpec, command?: string): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code?.startsWith('ERR_PARSE_ARGS')) {
      const message = (e as Error).message.split('\n')[0]!;
      const unknown = /Unknown option '([^']+)'/.exec(message)?.[1];
      if (unknown) {
        // An option of another command is the likely slip: say whose it is.
        const owner = COMMANDS.filter((c) => c.name !== command && Object.entries(c.options).some(([long, o]) => `--${long}` === unknown || `-${o.short}` === unknown));
        throw new UsageError(`unknown option ${unknown}${command ? ` for ${command}` : ''}${owner.length ? ` (it belongs to ${owner.map((c) => c.name).join(', ')})` : ''}`, command);
      }
      throw new UsageError(message, command);
    }
    throw e;
  }
}

let current: Command | undefined;

export async function main(argv: string[]): Promise<void> {
  // The command word comes first, as in git or npm.
  const command = COMMANDS.find((c) => c.name === argv[0]);
  if (!command) {
    // No command word: only the global options are valid.
    const { values, positionals } = parse(argv, { version: { type: 'boolean', short: 'V' }, help: { type: 'boolean', short: 'h' } });
    if (values.version) return void process.stdout.write(version() + '\n');
    if (values.help) return void process.stdout.write(overview() + '\n');
    if (positionals.length) throw new UsageError(`unknown command "${positionals[0]}"; the commands are ${COMMANDS.map((c) => c.name).join(', ')}`);
    process.stderr.write(overview() + '\n');
    process.exitCode = 2;
    return;
  }
  current = command;
  const rest = argv.slice(1);
  const options: OptionSpec = { ...command.options, help: { type: 'boolean', short: 'h' }, ...(command.progress ? { progress: { type: 'boolean' } } : {}) };
  const args = parse(rest, options, command.name);
  if (args.values.help) return void process.stdout.write(commandHelp(command) + '\n');
  const progress = args.values.progress === true || process.stderr.isTTY === true || process.env.PPTSN_PROGRESS === '1';
  await command.run(args, { log, progress: command.progress === true && progress });
}

cleanUpOnInterrupt();
main(process.argv.slice(2)).catch((e: unknown) => {
  // A progress meter may have left the cursor mid-line.
  if (process.env.PPTSN_PROGRESS === '1' || process.stderr.isTTY || process.argv.includes('--progress')) process.stderr.write('\n');
  // One line that names the file and the problem; a stack only when asked for.
  const message = isPPTSNError(e) ? `${e.message}` : e instanceof Error ? e.message : String(e);
  process.stderr.write(`pptsn-web: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  if (e instanceof UsageError) {
    const c = current ?? COMMANDS.find((x) => x.name === e.command);
    process.stderr.write(c ? `usage: ${c.usage.map((u) => `pptsn-web ${u}`).join('\n       ')}\n` : `usage: pptsn-web <command> [options]; see 'pptsn-web --help'\n`);
  }
  if (process.env.PPTSN_DEBUG) console.error(e);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
