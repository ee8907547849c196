/** Module specifiers of static imports, re-exports and literal dynamic imports (comments stripped). */
export function importsOf(source: string): string[] {
  const code = source
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
    // Template literals are text (init's generated config), not imports.
    .replace(/`(?:\\[\s\S]|[^`\\])*`/g, '``');
  const specs = [
    ...code.matchAll(/^\s*(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm),
    ...code.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]/g),
  ].map((m) => m[1] as string);
  return [...new Set(specs)];
}
