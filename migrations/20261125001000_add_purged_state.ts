import type { Knex } from 'knex';

/**
 * Volumes gain a last state, `purged`: a deleted volume whose metadata keys and bucket have been
 * removed. The row stays (and its prefix stays retired), so history and audit keep their subject.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE volumes DROP CONSTRAINT IF EXISTS volumes_state_check;
    ALTER TABLE volumes ADD CONSTRAINT volumes_state_check CHECK (state IN ('provisioning', 'active', 'failed', 'deleting', 'purged'));
    DROP INDEX IF EXISTS volumes_tenant_name_live;
    CREATE UNIQUE INDEX volumes_tenant_name_live ON volumes (tenant_id, name) WHERE state NOT IN ('deleting', 'purged');
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE volumes SET state = 'deleting' WHERE state = 'purged';
    ALTER TABLE volumes DROP CONSTRAINT IF EXISTS volumes_state_check;
    ALTER TABLE volumes ADD CONSTRAINT volumes_state_check CHECK (state IN ('provisioning', 'active', 'failed', 'deleting'));
    DROP INDEX IF EXISTS volumes_tenant_name_live;
    CREATE UNIQUE INDEX volumes_tenant_name_live ON volumes (tenant_id, name) WHERE state <> 'deleting';
  `);
}
