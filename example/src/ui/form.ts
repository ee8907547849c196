/** Form fields as the parser wants them: strings trimmed, and an empty field is a missing one. */
export function formValues(body: unknown, keys: readonly string[]): Record<string, string | undefined> {
  const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const out: Record<string, string | undefined> = {};
  for (const key of keys) {
    const value = record[key];
    const text = typeof value === 'string' ? value.trim() : undefined;
    out[key] = text ? text : undefined;
  }
  return out;
}

/** Drops undefined entries, so `parse` reports missing fields as "is required". */
export function defined(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Record<string, string>;
}
