/**
 * The shape every `pptsn-web` command has, and the argument helpers they share. `main.ts` holds a table of
 * commands; a command is one module that exports a `Command`, so adding one (e.g. `eval`) is one line there.
 *
 * Conventions (POSIX / GNU): `--help` prints the command's usage on stdout and exits 0; an unknown option, an
 * option of another command, a missing option value or a malformed value prints the message and the usage line on
 * stderr and exits 2; progress goes to stderr, only on a terminal or with `--progress`.
 */
import type { ParseArgsConfig } from 'node:util';
import { PPTSNError } from '../core/errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs returns for a command's options (values are string | boolean, positionals the operands). */
export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Facilities main.ts gives each command. */
export interface CommandContext {
  /** One line of information on stderr (never stdout: stdout is the result, e.g. JSON). */
  log: (line: string) => void;
  /** Whether to draw progress on stderr: stderr is a terminal, `--progress` was given, or PPTSN_PROGRESS=1. */
  progress: boolean;
}

export interface Command {
  /** The word after `pptsn-web`. */
  name: string;
  /** One line for the overview (`pptsn-web --help`). */
  summary: string;
  /** Usage line(s) without the leading `pptsn-web `, e.g. `classify <video>… -m <dir> [--json]`. */
  usage: string[];
  /** Further text for `pptsn-web <command> --help`. */
  details?: string;
  /** This command's options only (`--help`, and `--progress` when `progress` is set, are added by main.ts). */
  options: OptionSpec;
  /** The command reports progress (takes `--progress`). */
  progress?: boolean;
  run(args: ParsedArgs, context: CommandContext): Promise<void>;
}

/** A command line we cannot run as written: exit code 2, with the command's usage line. */
export class UsageError extends PPTSNError {
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super('invalid-argument', message);
    this.command = command;
  }
}

export function usage(message: string): never {
  throw new UsageError(message);
}

export function oneOf<T extends string>(value: string | boolean | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) usage(`${flag} must be one of ${allowed.join(', ')}, got "${String(value)}"`);
  return value as T;
}

export function positiveInt(value: string | boolean | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < 1) usage(`${flag} must be a positive integer, got "${String(value)}"`);
  return n;
}

/** A number in [0, 1] (e.g. a score threshold). */
export function unitInterval(value: string | boolean | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) usage(`${flag} must be a number between 0 and 1, got "${String(value)}"`);
  return n;
}

export function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
