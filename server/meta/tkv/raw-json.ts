/**
 * Byte-preserving edits of a JSON object's top-level members. JuiceFS's `setting` must keep every
 * other byte when Headroom changes `Capacity`/`Inodes`: field order, unknown fields from newer
 * versions, encrypted secrets, and integers above 2^53 that `JSON.parse` would round.
 */

/** One top-level member: its decoded key and where its value literal sits in the text. */
export interface Member {
  key: string;
  start: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
}

/** Thrown when the text is not a JSON object. */
export class RawJsonError extends Error {}

/** Lists the top-level members of a JSON object text, in order. */
export function members(text: string): Member[] {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new RawJsonError(`invalid JSON at offset ${i}: ${what}`);
  };
  const skipString = () => {
    if (text[i] !== '"') fail('expected a string');
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i++;
  };
  const skipValue = () => {
    ws();
    const c = text[i];
    if (c === '"') return skipString();
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        if (c === '{') {
          ws();
          skipString();
          ws();
          if (text[i++] !== ':') fail('expected ":"');
        }
        skipValue();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) return void i++;
        else fail(`expected "," or "${close}"`);
      }
    }
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) fail('expected a value');
    i += m![0].length;
  };
  ws();
  if (text[i++] !== '{') fail('expected "{"');
  const out: Member[] = [];
  ws();
  if (text[i] === '}') return out;
  for (;;) {
    ws();
    const start = i;
    skipString();
    const key = JSON.parse(text.slice(start, i)) as string;
    const keyEnd = i;
    ws();
    if (text[i++] !== ':') fail('expected ":"');
    ws();
    const valueStart = i;
    skipValue();
    out.push({ key, start, keyEnd, valueStart, valueEnd: i });
    ws();
    if (text[i] === ',') i++;
    else if (text[i] === '}') {
      i++;
      ws();
      if (i !== text.length) fail('trailing characters');
      return out;
    } else fail('expected "," or "}"');
  }
}

/**
 * Sets top-level integer members to exact literals. Existing members change only their value
 * bytes; missing ones are inserted after the member named in `insertAfter` (the first that
 * exists), else before the closing brace, using the separator style the text already uses.
 */
export function setIntegers(text: string, values: Record<string, bigint>, insertAfter: string[] = []): string {
  const ms = members(text);
  const edits: Array<{ at: number; end: number; with: string }> = [];
  const missing: string[] = [];
  for (const [key, v] of Object.entries(values)) {
    const m = ms.find((x) => x.key === key);
    if (m) edits.push({ at: m.valueStart, end: m.valueEnd, with: v.toString() });
    else missing.push(key);
  }
  if (missing.length > 0) {
    // Separator between members as written (Go's MarshalIndent with no indent uses ",\n").
    const sep = ms.length >= 2 ? text.slice(ms[0]!.valueEnd, ms[1]!.start) : ',\n';
    const colon = ms.length >= 1 ? text.slice(ms[0]!.keyEnd, ms[0]!.valueStart) : ': ';
    const anchor = insertAfter.map((k) => ms.find((x) => x.key === k)).find((x) => x !== undefined) ?? ms[ms.length - 1];
    const block = missing.map((k) => `${JSON.stringify(k)}${colon}${values[k]!.toString()}`).join(sep);
    if (anchor) edits.push({ at: anchor.valueEnd, end: anchor.valueEnd, with: sep + block });
    else {
      const open = text.indexOf('{') + 1;
      edits.push({ at: open, end: open, with: block });
    }
  }
  edits.sort((a, b) => b.at - a.at);
  let out = text;
  for (const e of edits) out = out.slice(0, e.at) + e.with + out.slice(e.end);
  return out;
}

/** Reads a top-level integer member exactly (as BigInt); undefined when absent or not an integer. */
export function getInteger(text: string, key: string): bigint | undefined {
  const m = members(text).find((x) => x.key === key);
  if (!m) return undefined;
  const lit = text.slice(m.valueStart, m.valueEnd);
  return /^-?\d+$/.test(lit) ? BigInt(lit) : undefined;
}
