import { html, type SafeHtml } from './html.ts';

// One small stylesheet inline: the UI has no build step and no static files to serve.
const CSS = `
*{box-sizing:border-box}[hidden]{display:none!important}body{margin:0;font:15px/1.45 system-ui,sans-serif;color:#1d2330;background:#f5f6f8}
header{display:flex;gap:1.5rem;align-items:center;padding:.75rem 1.5rem;background:#1d2330;color:#fff}
header a{color:#cfd6e4;text-decoration:none}header a:hover{color:#fff}header strong{margin-right:1rem}
main{max-width:960px;margin:1.5rem auto;padding:0 1.5rem}h1{font-size:1.4rem;margin:.2rem 0 1rem}
section{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:1rem 1.25rem;margin-bottom:1rem}
table{width:100%;border-collapse:collapse}td,th{padding:.45rem .5rem;border-bottom:1px solid #eceef2;text-align:left;vertical-align:top}
label{display:block;font-weight:600;margin:.6rem 0 .2rem}input,select,textarea{width:100%;padding:.45rem;border:1px solid #b9c0cc;border-radius:6px;font:inherit}
textarea{min-height:7rem}button,.button{display:inline-block;margin-top:.8rem;padding:.5rem 1rem;border:0;border-radius:6px;background:#2455d6;color:#fff;font:inherit;cursor:pointer;text-decoration:none}
button.danger{background:#b3261e}.inline{display:flex;gap:.5rem;align-items:end}.inline>*{margin-top:0}
.error{color:#b3261e}.field-error{color:#b3261e;font-size:.9rem}.banner{padding:.6rem .9rem;border-radius:6px;margin-bottom:1rem}
.banner.ok{background:#e3f4e8;border:1px solid #9fd4ae}.banner.bad{background:#fdecea;border:1px solid #f1a9a3}
.stats{display:flex;gap:1rem}.stat{flex:1;text-align:center}.stat b{display:block;font-size:1.6rem}
.badge{display:inline-block;padding:0 .45rem;border-radius:4px;background:#e8ebf1;font-size:.85rem}
[role=progressbar]{height:14px;background:#e8ebf1;border-radius:7px;overflow:hidden;margin:.6rem 0}
[role=progressbar] span{display:block;height:100%;background:#2455d6;transition:width .15s}
.muted{color:#6b7383}.empty{text-align:center;padding:2rem 1rem;color:#6b7383}
`;

/** The page shell: navigation, the stylesheet and the page's own markup. */
export function layout(title: string, body: SafeHtml, scripts: SafeHtml = html``): SafeHtml {
  return html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${title} · Help desk</title>
<style>${CSS}</style>
</head>
<body>
<header><strong>Help desk</strong><a href="/" data-testid="nav-dashboard">Dashboard</a><a href="/tickets" data-testid="nav-tickets">Tickets</a></header>
<main>${body}</main>
${scripts}
</body>
</html>`;
}

/** A field's error message under its input, when there is one. */
export function fieldError(fields: Record<string, string>, name: string): SafeHtml {
  const message = fields[name];
  return message ? html`<div class="field-error" data-testid="field-error-${name}">${name} ${message}</div>` : html``;
}

/** The form-level error banner: the message and how many fields need attention. */
export function formError(message: string | undefined): SafeHtml {
  return message ? html`<div class="banner bad" role="alert" data-testid="form-error">${message}</div>` : html``;
}

/** A one-line notice after a redirect (saved, created, deleted). */
export function flash(message: string | undefined): SafeHtml {
  return message ? html`<div class="banner ok" role="status" data-testid="flash">${message}</div>` : html``;
}
