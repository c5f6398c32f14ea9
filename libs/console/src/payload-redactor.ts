/** What the console shows of stream entries and event payloads: redacted, then cut to a size. */
export interface RedactorSettings {
  /** Lower-cased field names whose values become `"[redacted]"`, at any depth. */
  redactFields: ReadonlySet<string>;
  /** Bytes (UTF-8) shown at most per entry or payload. */
  maxPayloadBytes: number;
}

export const REDACTED = '[redacted]';

/** Deepest nesting walked; deeper values are shown as they are cut. */
const MAX_DEPTH = 32;

/** `text` cut to at most `bytes` UTF-8 bytes, never in the middle of a character. */
export function cutToBytes(text: string, bytes: number): string {
  if (text.length * 3 <= bytes || Buffer.byteLength(text) <= bytes) return text;
  const cut = Buffer.from(text, 'utf8').subarray(0, Math.max(0, bytes)).toString('utf8');
  return cut.endsWith('\uFFFD') ? cut.slice(0, -1) : cut;
}

/**
 * Redacts and truncates on the server, so that secrets in payloads and megabyte entries never
 * reach a browser: JSON field values named in `redactFields` are replaced at any depth, and what is
 * shown is cut to `maxPayloadBytes`, flagged `truncated`.
 */
export class PayloadRedactor {
  constructor(private readonly settings: RedactorSettings) {}

  /** A JSON value with redacted fields replaced (a copy; the input is left alone). */
  redact(value: unknown, depth = 0): unknown {
    if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return value;
    if (Array.isArray(value)) return value.map((item) => this.redact(item, depth + 1));
    const copy: Record<string, unknown> = {};
    for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
      copy[name] = this.settings.redactFields.has(name.toLowerCase())
        ? REDACTED
        : this.redact(item, depth + 1);
    }
    return copy;
  }

  /** One field's text: redacted when its name is listed, JSON text redacted inside. */
  private fieldText(name: string, value: string): string {
    if (this.settings.redactFields.has(name.toLowerCase())) return REDACTED;
    const first = value.charCodeAt(0);
    // '{' or '[': likely JSON (StreamProducer's `data` field); anything else is shown as it is.
    if (first === 0x7b || first === 0x5b) {
      try {
        return JSON.stringify(this.redact(JSON.parse(value)));
      } catch {
        return value;
      }
    }
    return value;
  }

  /**
   * An entry's flat field list (`[name, value, ...]`, as XRANGE gives it) as an object, redacted,
   * within `maxPayloadBytes` for the whole entry. `null` fields (an entry trimmed away) stay null.
   */
  entryFields(flat: readonly unknown[] | null): {
    fields: Record<string, string> | null;
    truncated: boolean;
  } {
    if (flat === null) return { fields: null, truncated: false };
    const fields: Record<string, string> = {};
    let budget = this.settings.maxPayloadBytes;
    let truncated = false;
    for (let index = 0; index + 1 < flat.length; index += 2) {
      const name = String(flat[index]);
      if (budget <= 0) {
        truncated = true;
        break;
      }
      const text = this.fieldText(name, String(flat[index + 1]));
      const shown = cutToBytes(text, budget);
      if (shown.length < text.length) truncated = true;
      fields[name] = shown;
      budget -= Buffer.byteLength(shown) + Buffer.byteLength(name);
    }
    return { fields, truncated };
  }

  /** Free text (an error message): cut to `maxPayloadBytes`. */
  text(value: string): string {
    return cutToBytes(value, this.settings.maxPayloadBytes);
  }

  /** An event payload: redacted; past `maxPayloadBytes` its JSON text, cut, with `truncated`. */
  payload(value: unknown): { payload: unknown; truncated: boolean } {
    const redacted = this.redact(value);
    const json = JSON.stringify(redacted) ?? 'null';
    if (Buffer.byteLength(json) <= this.settings.maxPayloadBytes)
      return { payload: redacted, truncated: false };
    return { payload: cutToBytes(json, this.settings.maxPayloadBytes), truncated: true };
  }
}
