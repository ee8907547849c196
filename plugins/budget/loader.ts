import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SloError } from './errors.ts';
import { isSlo, type Slo } from './slo.ts';

/**
 * Loads SLOs from modules: every export that `defineSlo` returned, or arrays of them (modules in
 * the order given, exports in name order). Duplicate ids across modules are an error (they
 * would share a baseline file).
 */
export async function loadSlos(files: readonly string[], root = process.cwd()): Promise<Slo[]> {
  const problems: string[] = [];
  const out: Slo[] = [];
  const seen = new Map<string, string>();
  for (const f of files) {
    const file = path.resolve(root, f);
    if (!existsSync(file)) {
      problems.push(`SLO module "${file}" does not exist`);
      continue;
    }
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const found = Object.values(mod)
      .flatMap((v) => (Array.isArray(v) ? v : [v]))
      .filter(isSlo);
    if (found.length === 0) problems.push(`SLO module "${file}" exports no SLO (use defineSlo)`);
    for (const slo of found) {
      const other = seen.get(slo.id);
      if (other && other !== file) problems.push(`SLO id "${slo.id}" is defined in both ${other} and ${file}`);
      if (other) continue;
      seen.set(slo.id, file);
      out.push(slo);
    }
  }
  if (problems.length) throw new SloError('modules', problems);
  return out;
}

/** Keeps the SLOs whose id is in `only` (comma-separated); every unknown id is an error. */
export function selectSlos(slos: readonly Slo[], only: string | undefined): Slo[] {
  if (!only) return [...slos];
  const ids = only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = ids.filter((id) => !slos.some((s) => s.id === id));
  if (unknown.length) {
    throw new SloError(
      'selection',
      unknown.map((id) => `--only "${id}" matches no SLO; known: ${slos.map((s) => s.id).join(', ')}`),
    );
  }
  return slos.filter((s) => ids.includes(s.id));
}
