/** HTML text and attribute escaping, and the page's embedded copy of its entries. */
import { strFromU8, strToU8, unzlibSync, zlibSync } from 'fflate';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text or an attribute value, escaped. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** Element text, escaped: only `&`, `<` and `>` need it there (quotes are for attribute values). */
export function escText(value: unknown): string {
  return String(value ?? '').replace(/[&<>]/g, (c) => ENTITIES[c]);
}

/** The id of the script element that carries the page's entries, so pages merge. */
export const DATA_ID = 'batchproof-data';

/**
 * JSON safe inside <script type="application/json">: every `<` becomes \u003c, so neither
 * `</script>` nor `<!--` (which changes how the script's end is found) can appear; U+2028/9 too.
 * JSON.parse reads it back unchanged. Infinity and NaN are written as strings, as `--json` does.
 */
export function embedJson(value: unknown): string {
  return jsonText(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** The embedded entries of a page batchproof wrote, or null when it has none. */
export function extractEmbedded(html: string): string | null {
  const open = new RegExp(`<script[^>]*\\bid="${DATA_ID}"[^>]*>`, 'i').exec(html);
  if (!open) return null;
  const start = open.index + open[0].length;
  const end = html.indexOf('</script>', start);
  return end < 0 ? html.slice(start) : html.slice(start, end);
}

/** JSON as `--json` writes it: Infinity and NaN as strings, bigints as numbers. */
function jsonText(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v === 'bigint' ? Number(v) : v));
}

/**
 * How the entries are packed in the page: the JSON text of the entries array, zlib-deflated
 * (fflate) and base64-written. The browser never reads it (it is for merging pages), and packed
 * it is about a tenth of the JSON. Pages written before carry `entries` as plain JSON instead.
 */
export const PACKING = 'zlib+base64';

/** The page's data script's content: a small JSON envelope with the packed entries in `data`. */
export function embedPacked(envelope: Record<string, unknown>, entries: unknown[]): string {
  const packed = Buffer.from(zlibSync(strToU8(jsonText(entries)), { level: 9 })).toString('base64');
  return embedJson({ ...envelope, encoding: PACKING, data: packed });
}

/** The entries' JSON text from a packed `data` string; throws an Error saying what is wrong. */
export function unpack(data: string): string {
  const text = data.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) throw new Error('the packed data is not base64');
  let bytes: Uint8Array;
  try {
    bytes = unzlibSync(Buffer.from(text, 'base64'));
  } catch (e) {
    throw new Error(`the packed data does not inflate (${(e as Error).message}): truncated or damaged`);
  }
  return strFromU8(bytes);
}
