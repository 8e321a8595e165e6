/**
 * Mints a bearer token signed with the configured secret (JWT_SECRET, or the one zero-config
 * mode keeps under DATA_DIR).
 *
 *   npm run token -- --role admin --sub alice
 *   npm run token -- --role engineer --sub bob --tenants team-a,team-b --ttl 86400
 *   npm run token -- --role engineer --sub bob --tenants team-a --link   # a sign-in link for the web dashboard
 *
 * `--link` prints PUBLIC_URL/ui/#token=…: the token sits in the fragment, which browsers never
 * send to a server (so it stays out of access logs), and the page moves it into session storage
 * and off the address bar at once.
 */
import { parseArgs } from 'node:util';
import { roles } from '../server/auth/principal.js';
import { resolveJwtSecret } from '../server/auth/resolve-secret.js';
import { signToken } from '../server/auth/tokens.js';
import { loadConfig } from '../server/config.js';

const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    sub: { type: 'string' },
    tenants: { type: 'string' },
    ttl: { type: 'string', default: '86400' },
    link: { type: 'boolean', default: false },
  },
});
if (!values.role || !(roles as readonly string[]).includes(values.role) || !values.sub) {
  console.error(`usage: npm run token -- --role <${roles.join('|')}> --sub <name> [--tenants a,b] [--ttl seconds] [--link]`);
  process.exit(2);
}
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) {
  console.error('--ttl must be a positive number of seconds');
  process.exit(2);
}
const config = loadConfig(process.env);
// The server refuses tokens that live longer than its maximum; better to say so here.
if (ttl > config.auth.maxLifetimeSeconds) {
  console.error(`--ttl ${ttl} is longer than JWT_MAX_LIFETIME_SECONDS (${config.auth.maxLifetimeSeconds}); the server would refuse the token`);
  process.exit(2);
}
const secret = await resolveJwtSecret(config);
const tenants = values.tenants ? values.tenants.split(',').filter(Boolean) : undefined;
if (values.role === 'engineer' && !tenants) console.error('note: an engineer token without --tenants sees no tenants');
const token = signToken({ secret, issuer: config.auth.issuer }, { sub: values.sub, role: values.role, tenants }, ttl);
console.log(values.link ? `${config.publicUrl}/ui/#token=${encodeURIComponent(token)}` : token);
