/** The CLI's command table, global flags and dispatch (`scripts/cli.ts` is the entry). */
import { ApiClient, CliError, EXIT } from './client.js';
import { helpOf, parseCommand, type Command } from './command.js';
import { adminCommands } from './commands/admin.js';
import { directoryQuotaCommands } from './commands/directory-quotas.js';
import { enforcementCommands } from './commands/enforcement.js';
import { EXIT_NO_FIT, fitCommands } from './commands/fit.js';
import { requestCommands } from './commands/requests.js';
import { tenantCommands } from './commands/tenants.js';
import { volumeCommands } from './commands/volumes.js';

/** Every command, in help order. */
export const commands: Command[] = [...tenantCommands, ...volumeCommands, ...directoryQuotaCommands, ...fitCommands, ...enforcementCommands, ...requestCommands, ...adminCommands];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length + (c.args?.join(' ').length ?? 0))) + 3;
  return [
    'usage: npm run cli -- [--url URL] [--token TOKEN] [--json] <command> [args] [--help]',
    '',
    'commands:',
    ...commands.map((c) => `  ${`${c.name} ${c.args?.join(' ') ?? ''}`.padEnd(width)}${c.summary}`),
    '',
    'environment: HEADROOM_URL (default http://localhost:8080), HEADROOM_TOKEN (mint one with npm run token)',
    `exit codes: ${EXIT.ok} ok, ${EXIT.refused} refused by the API (4xx), ${EXIT.usage} bad usage, ${EXIT.unavailable} unreachable or 5xx/429 (retry), ${EXIT.notFound} not found, ${EXIT_NO_FIT} the write would not fit (fit)`,
  ].join('\n');
}

/** Splits global flags (anywhere on the line) from the command's own arguments. */
function splitGlobals(argv: string[]): { url?: string; token?: string; json: boolean; help: boolean; rest: string[] } {
  const out: { url?: string; token?: string; json: boolean; help: boolean; rest: string[] } = { json: false, help: false, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') out.json = true;
    else if (a === '--help' || a === '-h') out.help = true;
    else if (a === '--url' || a === '--token') out[a.slice(2) as 'url' | 'token'] = argv[++i];
    else if (a.startsWith('--url=') || a.startsWith('--token=')) out[a.slice(2, a.indexOf('=')) as 'url' | 'token'] = a.slice(a.indexOf('=') + 1);
    else out.rest.push(a);
  }
  return out;
}

/** Longest command name matching the start of the words: `volumes show x` beats `volumes`. */
function findCommand(words: string[]): { cmd?: Command; args: string[] } {
  for (const n of [2, 1]) {
    const cmd = commands.find((c) => c.name === words.slice(0, n).join(' '));
    if (cmd && words.length >= n) return { cmd, args: words.slice(n) };
  }
  return { args: words };
}

/** Where the CLI writes and what environment it reads (a test passes its own). */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Record<string, string | undefined>;
}

/** Runs one command line; resolves with the exit code. */
export async function runCli(argv: string[], io: CliIo = { out: console.log, err: console.error, env: process.env }): Promise<number> {
  const { out } = io;
  const g = splitGlobals(argv);
  const { cmd, args } = findCommand(g.rest);
  if (!cmd) {
    if (g.rest.length === 0 || g.help) {
      out(overview());
      return g.rest.length === 0 && !g.help ? EXIT.usage : EXIT.ok;
    }
    io.err(`unknown command "${g.rest.join(' ')}"\n\n${overview()}`);
    return EXIT.usage;
  }
  if (g.help) {
    out(helpOf(cmd));
    return EXIT.ok;
  }
  try {
    const parsed = parseCommand(cmd, args);
    const api = new ApiClient({ url: g.url ?? io.env.HEADROOM_URL ?? 'http://localhost:8080', token: g.token ?? io.env.HEADROOM_TOKEN });
    await cmd.run({ api, json: g.json, out, ...parsed });
    return EXIT.ok;
  } catch (err) {
    io.err(`error: ${(err as Error).message}`);
    return err instanceof CliError ? err.exitCode : EXIT.refused;
  }
}
