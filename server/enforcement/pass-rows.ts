/**
 * The enforcement state and layer rows a pass reads, kept between passes. A steady fleet changes
 * few rows between two passes, yet receiving and parsing 1,000 state and 1,000 layer rows per
 * page was a fifth of Headroom's own CPU in a counters pass. Each page is still read from
 * PostgreSQL in one statement per table, but against the versions held here: the database sends
 * only the rows whose version differs, and counts the held ones it found unchanged. So a row
 * changed by an API call, the locked path, the applier or another instance is read anew in the
 * very statement that would have read it anyway, and a kept row is never used unless the
 * database just confirmed it unchanged.
 */
import type { EnforcementStore, KnownVersions, StateRow, VersionedRows } from './enforcement-store.js';
import { layerKey, type LayerRow, type LayerStore } from './layer-store.js';

/** Everything kept is dropped this often, bounding memory of retired volumes and any surprise. */
const MAX_AGE_MS = 3_600_000;

/** A layer store that can answer a versioned load (the PostgreSQL one; fakes load in full). */
interface VersionedLayerStore extends LayerStore {
  loadVersioned(volumeIds: readonly string[], known: KnownVersions): Promise<VersionedRows<LayerRow>>;
}

const versioned = (s: LayerStore): s is VersionedLayerStore => typeof (s as Partial<VersionedLayerStore>).loadVersioned === 'function';

interface Entry<T> {
  version: string;
  row: Readonly<T>;
  /** The last pass that saw the row (rows no pass sees any more are dropped). */
  pass: number;
}

/** Rows by key, each with the version it was read at. */
export class RowCache<T extends object> {
  private entries = new Map<string, Entry<T>>();

  /** How many rows are kept (for tests). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The rows of `keys` as the database holds them now: `load` is handed the versions held and
   * answers with the rows that differ, and how many held rows are still there unchanged. When
   * that count says some held row is gone (it is not said which), the keys are read in full. The
   * answer is merged with the entries it was asked about (a concurrent read may replace them
   * meanwhile), so a row always goes with the version it was read at.
   */
  async read(keys: readonly string[], pass: number, load: (known: KnownVersions) => Promise<VersionedRows<T>>): Promise<Map<string, T>> {
    const known: KnownVersions = { keys: [], versions: [] };
    const held: Entry<T>[] = [];
    for (const k of keys) {
      const e = this.entries.get(k);
      if (e) {
        known.keys.push(k);
        known.versions.push(e.version);
        held.push(e);
      }
    }
    let answer = await load(known);
    let out = new Map<string, T>();
    let heldChanged = 0;
    for (let i = 0; i < held.length; i++) {
      if (answer.changed.has(known.keys[i]!)) heldChanged++;
      else out.set(known.keys[i]!, held[i]!.row as T);
    }
    if (answer.unchanged + heldChanged !== held.length) {
      for (const k of known.keys) this.entries.delete(k);
      held.length = 0;
      out = new Map();
      answer = await load({ keys: [], versions: [] });
    }
    for (const e of held) e.pass = pass;
    for (const [k, { version, row }] of answer.changed) {
      Object.freeze(row);
      out.set(k, row);
      this.entries.set(k, { version, row, pass });
    }
    return out;
  }

  /** Drops the rows no pass since `pass` has seen (volumes no longer active, say). */
  forgetUnseenSince(pass: number): void {
    for (const [k, e] of this.entries) if (e.pass < pass) this.entries.delete(k);
  }

  clear(): void {
    this.entries.clear();
  }
}

/** A page's enforcement states and (brief) layer rows. */
export interface PageRows {
  states: Map<string, StateRow>;
  layers: Map<string, LayerRow>;
}

/** The state and layer rows of the pages of enforcement passes, kept between passes. */
export class PassRows {
  private readonly states = new RowCache<StateRow>();
  private readonly layers = new RowCache<LayerRow>();
  private passes = 0;
  private since = Date.now();

  constructor(
    private readonly stateStore: EnforcementStore,
    private readonly layerStore: LayerStore,
  ) {}

  /** Starts a pass: its number, for {@link load} and {@link endPass}. */
  startPass(): number {
    // Wall-clock age, not the pass's `now` (tests and dry runs pass any time they like).
    if (Date.now() - this.since >= MAX_AGE_MS) {
      this.states.clear();
      this.layers.clear();
      this.since = Date.now();
    }
    return ++this.passes;
  }

  /** Ends a pass that saw every active volume: rows it did not see are dropped. */
  endPass(pass: number): void {
    this.states.forgetUnseenSince(pass);
    this.layers.forgetUnseenSince(pass);
  }

  /** The page's rows as PostgreSQL holds them now (one statement per table). */
  async load(volumeIds: readonly string[], pass: number): Promise<PageRows> {
    const layers = this.layerStore;
    const [states, layerRows] = await Promise.all([
      this.states.read(volumeIds, pass, (known) => this.stateStore.loadStatesVersioned(volumeIds, known)),
      versioned(layers)
        ? this.layers.read(
            volumeIds.flatMap((id) => [layerKey(id, 'metadata'), layerKey(id, 'storage')]),
            pass,
            (known) => layers.loadVersioned(volumeIds, known),
          )
        : layers.load(volumeIds, { brief: true }),
    ]);
    return { states, layers: layerRows };
  }
}
