/**
 * The store of walk insights: one row per walk with its profile, its findings, its directories'
 * profiles (for comparing walks), and the admins' rule settings. `KnexInsightStore` implements it
 * over PostgreSQL and `FakeInsightStore` in memory; both pass test/unit/insights/insight-store.contract.ts.
 */
import type { Db } from '../db/database.js';
import type { DirectoryProfile, FileTypeUsage } from '../meta/volume-metadata.js';
import type { Finding, RuleSetting } from './insight-rules.js';

/** Bytes and files of one age or size bucket. */
export interface BucketUsage {
  bucket: string;
  bytes: number;
  files: number;
}

/** The volume-wide part of a walk's insights (stored as one JSON document). */
export interface InsightSummary {
  ages: BucketUsage[];
  sizes: BucketUsage[];
  types: FileTypeUsage[];
  largestFiles: Array<{ path: string; pathBase64: string; bytes: number; modifiedAt: string }>;
  /** The largest directories with no file modified for 90 days (outermost only). */
  staleDirectories: Array<{ path: string; bytes: number; files: number; lastModifiedAt: string }>;
}

/** One walk's insights. */
export interface InsightWalk {
  walkId: string;
  volumeId: string;
  tenantId: string;
  walkedAt: Date;
  bytes: bigint;
  files: bigint;
  inodes: bigint;
  trashBytes: bigint;
  reclaimableBytes: bigint;
  summary: InsightSummary;
}

/** A stored directory of a walk. */
export interface InsightDirectory {
  pathBase64: string;
  path: string;
  depth: number;
  bytes: bigint;
  files: bigint;
  profile: DirectoryProfile | null;
}

/** Persistence of insights; tenant-scoped reads take the tenant first. */
export interface InsightStore {
  /** The same store inside the caller's transaction (the walk's success transaction). */
  in(trx: Db): InsightStore;
  saveWalk(tenantId: string, walk: InsightWalk, findings: readonly Finding[], directories: readonly InsightDirectory[]): Promise<void>;
  /** The volume's walks, newest first. */
  recentWalks(tenantId: string, volumeId: string, limit: number): Promise<InsightWalk[]>;
  /** A walk's findings in stored order (largest reclaimable first). */
  findings(tenantId: string, walkId: string): Promise<Finding[]>;
  /** A walk's stored directories, largest first. */
  directories(tenantId: string, walkId: string, opts?: { maxDepth?: number; limit?: number }): Promise<InsightDirectory[]>;
  /** Drops the directories of all but the volume's newest `keepWalks` walks; returns rows deleted. */
  pruneDirectories(tenantId: string, volumeId: string, keepWalks: number): Promise<number>;
  /** The rule settings admins saved (rules without a row use their defaults). */
  ruleSettings(): Promise<RuleSetting[]>;
  saveRuleSetting(setting: RuleSetting, updatedBy: string): Promise<void>;
}
