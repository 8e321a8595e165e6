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
  const c = new JsonCursor(text);
  c.ws();
  if (text[c.i++] !== '{') c.fail('expected "{"');
  const out: Member[] = [];
  c.ws();
  if (text[c.i] === '}') return out;
  for (;;) {
    c.ws();
    const start = c.i;
    c.skipString();
    const key = JSON.parse(text.slice(start, c.i)) as string;
    const keyEnd = c.i;
    c.ws();
    if (text[c.i++] !== ':') c.fail('expected ":"');
    c.ws();
    const valueStart = c.i;
    c.skipValue();
    out.push({ key, start, keyEnd, valueStart, valueEnd: c.i });
    c.ws();
    if (text[c.i] === ',') c.i++;
    else if (text[c.i] === '}') {
      c.i++;
      c.ws();
      if (c.i !== text.length) c.fail('trailing characters');
      return out;
    } else c.fail('expected "," or "}"');
  }
}

/** A read position in JSON text and the skips {@link members} needs (values are skipped, not decoded). */
class JsonCursor {
  i = 0;
  constructor(private readonly text: string) {}

  ws(): void {
    while (this.i < this.text.length && ' \t\r\n'.includes(this.text[this.i]!)) this.i++;
  }

  fail(what: string): never {
    throw new RawJsonError(`invalid JSON at offset ${this.i}: ${what}`);
  }

  skipString(): void {
    const text = this.text;
    if (text[this.i] !== '"') this.fail('expected a string');
    this.i++;
    while (this.i < text.length && text[this.i] !== '"') this.i += text[this.i] === '\\' ? 2 : 1;
    if (this.i >= text.length) this.fail('unterminated string');
    this.i++;
  }

  skipValue(): void {
    this.ws();
    const c = this.text[this.i];
    if (c === '"') return this.skipString();
    if (c === '{' || c === '[') return this.skipContainer(c === '{' ? '}' : ']');
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(this.text.slice(this.i, this.i + 400));
    if (!m) this.fail('expected a value');
    this.i += m![0].length;
  }

  /** An object (`close` is "}") or an array, from its opening bracket. */
  private skipContainer(close: '}' | ']'): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === close) return void this.i++;
    for (;;) {
      if (close === '}') {
        this.ws();
        this.skipString();
        this.ws();
        if (this.text[this.i++] !== ':') this.fail('expected ":"');
      }
      this.skipValue();
      this.ws();
      if (this.text[this.i] === ',') this.i++;
      else if (this.text[this.i] === close) return void this.i++;
      else this.fail(`expected "," or "${close}"`);
    }
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
