import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { AppConfig } from '../config.js';
import { loadOrCreate } from './secret-file.js';

/**
 * The HS256 secret: `JWT_SECRET` when set, otherwise a random one created once under DATA_DIR
 * so tokens keep working across restarts in zero-config mode.
 */
export async function resolveJwtSecret(config: Pick<AppConfig, 'auth' | 'dataDir'>): Promise<string> {
  if (config.auth.secret) return config.auth.secret;
  return loadOrCreate(path.join(config.dataDir, 'jwt-secret'), () => randomBytes(32).toString('base64url'));
}

/**
 * The webhook signing key: `WEBHOOK_SECRET` when set, otherwise a random one created once under
 * DATA_DIR, so receivers configured with it keep verifying across restarts.
 */
export async function resolveWebhookSecret(config: Pick<AppConfig, 'notify' | 'dataDir'>): Promise<string> {
  if (config.notify.webhookSecret) return config.notify.webhookSecret;
  return loadOrCreate(path.join(config.dataDir, 'webhook-secret'), () => randomBytes(32).toString('base64url'));
}

/**
 * The key sealing storage secret keys: `STORAGE_SECRET_KEY` when set, otherwise a random one
 * created once under DATA_DIR. Losing it loses the stored tenant keys (rotate them then).
 */
export async function resolveStorageSecret(config: Pick<AppConfig, 'storageSecretKey' | 'dataDir'>): Promise<string> {
  if (config.storageSecretKey) return config.storageSecretKey;
  return loadOrCreate(path.join(config.dataDir, 'storage-secret-key'), () => randomBytes(32).toString('base64url'));
}
