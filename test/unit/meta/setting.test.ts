/** Setting JSON: rendering as `juicefs format` does, secret encryption, byte-preserving limit edits. */
import { describe, expect, it } from 'vitest';
import { getInteger, members, setIntegers } from '../../../server/meta/tkv/raw-json.js';
import { decryptSecret, encryptSecret } from '../../../server/meta/tkv/secrets.js';
import { parseSetting, renderSetting, withLimits } from '../../../server/meta/tkv/setting.js';

const uuid = '6f2e2b6c-8c0a-4d53-9a4e-2d2f3c1b9e10';

describe('setting', () => {
  it('renders v1.1 like MarshalIndent(format, "", ""), with the secret encrypted', () => {
    const { json } = renderSetting({ name: 'vol-a', storage: 's3', bucket: 'http://s3/b', accessKey: 'AK', secretKey: 'SK', uuid, capacity: 10n });
    const lines = json.split('\n');
    expect(lines[0]).toBe('{');
    expect(lines[1]).toBe('"Name": "vol-a",');
    expect(lines.at(-1)).toBe('}');
    const obj = JSON.parse(json);
    expect(Object.keys(obj)).toEqual([
      'Name',
      'UUID',
      'Storage',
      'Tiers',
      'Bucket',
      'AccessKey',
      'SecretKey',
      'BlockSize',
      'Compression',
      'Capacity',
      'Inodes',
      'EncryptAlgo',
      'KeyEncrypted',
      'TrashDays',
      'MetaVersion',
      'MinClientVersion',
      'DirStats',
      'EnableACL',
    ]);
    // The tier map as MarshalIndent(format, "", "") nests it: one member per line, no indentation.
    expect(json).toContain('"Tiers": {\n"0": {\n"ID": 0,\n"StorageClass": "",\n"Tag": ""\n}\n},\n"Bucket"');
    expect(obj.Tiers).toEqual({ 0: { ID: 0, StorageClass: '', Tag: '' } });
    expect(lines.at(-2)).toBe('"EnableACL": false');
    expect(obj.SecretKey).not.toBe('SK');
    expect(decryptSecret(uuid, obj.SecretKey)).toBe('SK');
    expect(obj).toMatchObject({ KeyEncrypted: true, MetaVersion: 1, TrashDays: 1, DirStats: true, Capacity: 10, Inodes: 0, BlockSize: 4096 });
  });

  it('renders v0.17 with plaintext secrets and no v1 fields', () => {
    const obj = JSON.parse(renderSetting({ name: 'old-vol', storage: 'file', bucket: '/d/', secretKey: 'SK', version: '0.17', uuid }).json);
    expect(Object.keys(obj)).toEqual(['Name', 'UUID', 'Storage', 'Bucket', 'AccessKey', 'SecretKey', 'BlockSize', 'Compression', 'Shards', 'Partitions', 'Capacity', 'Inodes']);
    expect(obj.SecretKey).toBe('SK');
  });

  it('refuses names juicefs format refuses', () => {
    expect(() => renderSetting({ name: 'A', storage: 'file', bucket: '/' })).toThrow(/volume name/);
    expect(() => renderSetting({ name: 'ab-', storage: 'file', bucket: '/' })).toThrow(/volume name/);
  });

  it('escapes <>& as Go does', () => {
    const { json } = renderSetting({ name: 'vol-a', storage: 'file', bucket: '/a<b>&c/', uuid });
    expect(json).toContain('"Bucket": "/a\\u003cb\\u003e\\u0026c/"');
    expect(JSON.parse(json).Bucket).toBe('/a<b>&c/');
  });

  it('decrypts what JuiceFS-style encryption produced, and rejects a wrong UUID', () => {
    const enc = encryptSecret(uuid, 'secret');
    expect(Buffer.from(enc, 'base64').length).toBe(12 + 6 + 16);
    expect(() => decryptSecret('other', enc)).toThrow();
  });
});

describe('byte-preserving limit edits', () => {
  const original =
    '{\n"Name": "v",\n"UUID": "u",\n"Storage": "s3",\n"Bucket": "b",\n"SecretKey": "c2VjcmV0\\u003d",\n"BlockSize": 4096,\n' +
    '"Capacity": 18446744073709551615,\n"FutureField": {"a": [1, {"b": "}"}]},\n"TrashDays": 1\n}';

  it('changes only the value bytes of existing members, exactly (no float rounding)', () => {
    const out = withLimits(original, { capacity: 9007199254740993n, inodes: 7n });
    expect(out.replace('9007199254740993', '18446744073709551615').replace(',\n"Inodes": 7', '')).toBe(original);
    expect(getInteger(out, 'Capacity')).toBe(9007199254740993n);
    expect(getInteger(out, 'Inodes')).toBe(7n);
  });

  it('inserts missing members after Capacity in the same style', () => {
    const out = withLimits(original, { capacity: 1n, inodes: 0n });
    expect(out).toContain('"Capacity": 1,\n"Inodes": 0,\n"FutureField"');
  });

  it('is idempotent', () => {
    const once = withLimits(original, { capacity: 5n, inodes: 6n });
    expect(withLimits(once, { capacity: 5n, inodes: 6n })).toBe(once);
  });

  it('handles compact JSON and objects with no members', () => {
    expect(setIntegers('{"a":1}', { b: 2n })).toBe('{"a":1,\n"b":2}');
    expect(setIntegers('{}', { b: 2n })).toBe('{"b": 2}');
    expect(members('{"x": "a\\"b", "y": [1,2]}').map((m) => m.key)).toEqual(['x', 'y']);
  });

  it('rejects bad JSON and settings that are not JuiceFS', () => {
    expect(() => parseSetting('{"Name": ', 'beef')).toThrow(/beef.*not valid JSON/);
    expect(() => parseSetting('{"hello": 1}', 'beef')).toThrow(/not a JuiceFS volume/);
    expect(() => parseSetting('{"Name":"v","UUID":"u","Storage":"s","Bucket":"b","BlockSize":4096,"Capacity":-1}', 'k')).toThrow(/Capacity/);
  });
});
