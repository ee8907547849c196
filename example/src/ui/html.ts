import type { Response } from 'express';

/** Markup that is already safe: built by `html` or marked with `raw`. */
export class SafeHtml {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

/** Marks trusted markup (never user input) as safe. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

function toHtml(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(toHtml).join('');
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof Date) return escapeHtml(value.toISOString());
  return escapeHtml(String(value));
}

/**
 * Template tag that escapes every interpolated value unless it is SafeHtml (nested `html`
 * results, `raw`); arrays are joined, and `undefined`/`null`/`false` render as nothing.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += toHtml(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Sends a page with its status; pages are never cached, so a test always sees the current state. */
export function send(res: Response, status: number, page: SafeHtml): void {
  res.status(status).type('html').setHeader('Cache-Control', 'no-store');
  res.send(`<!doctype html>\n${page.value}`);
}

/** `selected` for the option whose value matches. */
export function selected(value: unknown, current: unknown): SafeHtml {
  return raw(String(value) === String(current ?? '') ? ' selected' : '');
}
