import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * The `ts` code blocks of `docs/<doc>` marked `<!-- <tag>: <file> -->`, by file, in the order
 * they appear: what a docs spec writes out and runs, so the page cannot rot.
 */
export function docBlocks(doc: string, tag: string): Map<string, string> {
  const text = readFileSync(path.join(root, 'docs', doc), 'utf8');
  const marker = new RegExp(`<!-- ${tag}: (\\S+) -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\``, 'g');
  return new Map([...text.matchAll(marker)].map((m) => [m[1] as string, m[2] as string]));
}
