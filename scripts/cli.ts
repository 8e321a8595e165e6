/**
 * `npm run cli -- <command>`: Headroom for people at a terminal and for scripts. Talks to the
 * REST API at --url / HEADROOM_URL with --token / HEADROOM_TOKEN, prints tables (or the API's
 * JSON with --json), and exits with a code a script can test (see `--help`).
 */
import { runCli } from './cli/main.js';

process.exitCode = await runCli(process.argv.slice(2));
