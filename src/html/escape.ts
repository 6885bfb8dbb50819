/** HTML text and attribute escaping, and the page's embedded copy of its entries. */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text or an attribute value, escaped. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** The id of the script element that carries the page's entries, so pages merge. */
export const DATA_ID = 'batchproof-data';

/**
 * JSON safe inside <script type="application/json">: every `<` becomes \u003c, so neither
 * `</script>` nor `<!--` (which changes how the script's end is found) can appear; U+2028/9 too.
 * JSON.parse reads it back unchanged. Infinity and NaN are written as strings, as `--json` does.
 */
export function embedJson(value: unknown): string {
  const json = JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v === 'bigint' ? Number(v) : v));
  return json.replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** The embedded entries of a page batchproof wrote, or null when it has none. */
export function extractEmbedded(html: string): string | null {
  const open = new RegExp(`<script[^>]*\\bid="${DATA_ID}"[^>]*>`, 'i').exec(html);
  if (!open) return null;
  const start = open.index + open[0].length;
  const end = html.indexOf('</script>', start);
  return end < 0 ? html.slice(start) : html.slice(start, end);
}
