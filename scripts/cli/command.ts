/**
 * How a CLI command is declared and run: its options, its positional arguments and one line
 * of help, so `--help` works the same on every command and bad usage never reaches the API.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, type ApiClient } from './client.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What a command's `run` receives. */
export interface CommandContext {
  api: ApiClient;
  /** Print the answer as JSON instead of text. */
  json: boolean;
  values: Record<string, string | boolean | undefined>;
  args: string[];
  /** Writes one line to stdout (tests capture it). */
  out: (line: string) => void;
}

/** One command of `npm run cli`. */
export interface Command {
  /** e.g. `volumes show` or `freeze`. */
  name: string;
  /** Positional arguments, as shown in help: `<volumeId>`. */
  args?: string[];
  summary: string;
  options?: Options;
  /** Lines explaining the options, shown by `--help`. */
  optionHelp?: string[];
  run(ctx: CommandContext): Promise<void>;
}

/** The usage line of a command. */
export function usageOf(c: Command): string {
  const opts = Object.keys(c.options ?? {}).map((o) => `[--${o}${c.options![o]!.type === 'string' ? ' …' : ''}]`);
  return ['npm run cli --', c.name, ...(c.args ?? []), ...opts].join(' ');
}

/** Full help text of one command. */
export function helpOf(c: Command): string {
  return [usageOf(c), '', c.summary, ...(c.optionHelp?.length ? ['', ...c.optionHelp.map((l) => `  ${l}`)] : [])].join('\n');
}

/** Parses a command's own arguments; missing positionals are a usage error. */
export function parseCommand(c: Command, argv: string[]): { values: CommandContext['values']; args: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: c.options ?? {}, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${usageOf(c)}`);
  }
  const required = (c.args ?? []).filter((a) => a.startsWith('<')).length;
  if (parsed.positionals.length < required) throw new UsageError(`missing ${(c.args ?? []).slice(parsed.positionals.length).join(' ')}\nusage: ${usageOf(c)}`);
  if (parsed.positionals.length > (c.args ?? []).length) throw new UsageError(`unexpected argument "${parsed.positionals[(c.args ?? []).length]}"\nusage: ${usageOf(c)}`);
  return { values: parsed.values as CommandContext['values'], args: parsed.positionals };
}

/** A string option that must be present. */
export function required(ctx: CommandContext, name: string): string {
  const v = ctx.values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}
