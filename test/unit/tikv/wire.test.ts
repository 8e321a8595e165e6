/** Golden bytes from tikv-protocol.md §2.6 and §3.2: they catch a wrong field number or codec. */
import { describe, expect, it } from 'vitest';
import { decodeBoundary, decodeKey, encodeKey } from '../../../server/engines/tikv/codec.js';
import { composeTs, physicalOf, protoRoot } from '../../../server/engines/tikv/protocol.js';

const root = protoRoot();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('protobuf golden bytes', () => {
  it('GetRequest', () => {
    const T = root.lookupType('kvrpcpb.GetRequest');
    const msg = T.fromObject({ context: { region_id: 2, region_epoch: { conf_ver: 1, version: 3 }, peer: { id: 4, store_id: 1 } }, key: Buffer.from('a'), version: 5 });
    expect(hex(T.encode(msg).finish())).toBe('0a0e08021204080110031a04080410011201611805');
  });

  it('TsoRequest keeps a uint64 cluster id above 2^53 exact', () => {
    const T = root.lookupType('pdpb.TsoRequest');
    const msg = T.fromObject({ header: { cluster_id: '6877987281838938466' }, count: 1 });
    const bytes = T.encode(msg).finish();
    expect(hex(bytes)).toBe('0a0a08e2b2a8fddd9fe1b95f1001');
    const back = T.toObject(T.decode(bytes), { longs: String }) as { header: { cluster_id: string } };
    expect(back.header.cluster_id).toBe('6877987281838938466');
  });

  it('an empty StaleCommand is still present', () => {
    const T = root.lookupType('errorpb.Error');
    const e = T.toObject(T.decode(Buffer.from('3a00', 'hex'))) as Record<string, unknown>;
    expect(e.stale_command).toEqual({});
  });
});

describe('memcomparable keys', () => {
  it.each([
    ['', '0000000000000000f7'],
    ['61', '6100000000000000f8'],
    ['616263', '6162630000000000fa'],
    ['00', '0000000000000000f8'],
    ['6162636465666768', '6162636465666768ff0000000000000000f7'],
    ['616263646566676869', '6162636465666768ff6900000000000000f8'],
    ['6a6673fd', '6a6673fd00000000fb'],
  ])('%s ⇄ %s', (raw, enc) => {
    expect(hex(encodeKey(Buffer.from(raw, 'hex')))).toBe(enc);
    expect(hex(decodeKey(Buffer.from(enc, 'hex')))).toBe(raw);
  });

  it('keeps order, decodes empty boundaries as empty, rejects malformed input', () => {
    const keys = ['', '00', '0000', '01', 'ff', 'ff00', 'ffffffffffffffff', 'ffffffffffffffff00'].map((k) => Buffer.from(k, 'hex'));
    const enc = keys.map(encodeKey);
    for (let i = 1; i < enc.length; i++) expect(Buffer.compare(enc[i - 1]!, enc[i]!)).toBe(-1);
    expect(decodeBoundary(Buffer.alloc(0)).length).toBe(0);
    expect(() => decodeKey(Buffer.from('61000000000000', 'hex'))).toThrow();
    expect(() => decodeKey(Buffer.from('6100000000000001f8', 'hex'))).toThrow(/padding/);
  });

  it('composes timestamps above 2^53 exactly', () => {
    const ts = composeTs(1_700_000_000_000n, 5n);
    expect(ts).toBe(445644800000000005n);
    expect(physicalOf(ts)).toBe(1_700_000_000_000n);
  });
});
