/** PostgreSQL store of what each volume's early warnings said last (forecast_warnings). */
import type { Db } from '../db/database.js';
import { emptyMemory, type WarningMemory } from './forecast-pacing.js';

/** The volume's warning memory, row-locked for the caller's transaction (empty when none). */
export async function lockWarningMemory(trx: Db, tenantId: string, volumeId: string): Promise<WarningMemory> {
  const row = (await trx('forecast_warnings').where({ tenant_id: tenantId, volume_id: volumeId }).forUpdate().first()) as { memory: WarningMemory } | undefined;
  return row ? { ...emptyMemory(), ...row.memory } : emptyMemory();
}

/** Stores the volume's warning memory. */
export async function saveWarningMemory(trx: Db, tenantId: string, volumeId: string, memory: WarningMemory): Promise<void> {
  await trx('forecast_warnings')
    .insert({ volume_id: volumeId, tenant_id: tenantId, memory: JSON.stringify(memory), updated_at: trx.fn.now() })
    .onConflict('volume_id')
    .merge(['memory', 'updated_at']);
}
