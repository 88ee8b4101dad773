import type { AdminApp } from '../../admin/context.js';

/**
 * The console's one stylesheet: plain and calm, readable without it. Status is always
 * written out in words (never colour alone), and focus is visible on everything that
 * takes it.
 */
const STYLESHEET = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --accent: #0b57d0; --bad: #a40e26; --good: #1a7f37; --bg-soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #fff; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; z-index: 10; }
header.top { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; padding: .75rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--bg-soft); }
header.top .brand { font-weight: 700; margin-right: 1rem; }
header.top nav ul { display: flex; flex-wrap: wrap; gap: 1rem; list-style: none; margin: 0; padding: 0; }
header.top nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
header.top .who { margin-left: auto; display: flex; gap: .75rem; align-items: center; }
main { max-width: 68rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .75rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }
th, td { text-align: left; vertical-align: top; padding: .5rem .6rem; border-bottom: 1px solid var(--line); }
th { font-weight: 600; background: var(--bg-soft); }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 1.25rem; padding: .75rem 1rem 1rem; }
legend { font-weight: 600; padding: 0 .3rem; }
label { font-weight: 600; display: block; margin: .6rem 0 .2rem; }
label.inline { display: inline; font-weight: 400; margin: 0 1rem 0 .25rem; }
.hint { color: var(--muted); font-size: .9rem; margin: .2rem 0 .4rem; }
.description { white-space: pre-line; overflow-wrap: anywhere; }
input[type="text"], input[type="date"], input[type="search"], textarea, select { font: inherit; padding: .4rem .5rem; border: 1px solid #8c959f; border-radius: 6px; min-width: 16rem; max-width: 100%; }
textarea { width: 100%; min-height: 4rem; }
button, .button { font: inherit; padding: .4rem .9rem; border-radius: 6px; border: 1px solid #8c959f; background: var(--bg-soft); color: var(--fg); cursor: pointer; text-decoration: none; display: inline-block; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { border-color: var(--bad); color: var(--bad); }
form.inline { display: inline; }
.status { font-weight: 600; }
.status::before { content: "● "; }
.status-active::before { color: var(--good); }
.status-pending::before { color: #9a6700; }
.status-denied::before, .status-revoked::before, .status-expired::before { color: var(--bad); }
.notice { border: 1px solid var(--line); border-left: 6px solid var(--accent); padding: .75rem 1rem; margin: 0 0 1.25rem; background: var(--bg-soft); }
.notice.error { border-left-color: var(--bad); }
.secret { font-family: ui-monospace, monospace; width: 100%; min-width: 0; }
.perm-table td:first-child { width: 60%; }
.filters { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; margin-bottom: 1rem; }
.filters label { margin: 0 0 .2rem; }
code, .mono { font-family: ui-monospace, monospace; font-size: .92em; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
`;

/**
 * Copies the secret on the "Copy" button: an external file, since the CSP allows no
 * inline script. Without JavaScript the button stays hidden and the field is selectable.
 */
const COPY_SCRIPT = `"use strict";
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var field = document.getElementById(button.getAttribute("data-copy"));
  var status = document.getElementById(button.getAttribute("data-copy") + "-status");
  if (!field || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(field.value).then(function () {
      if (status) status.textContent = "Copied to the clipboard.";
    }, function () {
      field.select();
      if (status) status.textContent = "Could not copy; the text is selected, copy it by hand.";
    });
  });
});
`;

export const STYLESHEET_PATH = '/console/assets/console.css';
export const COPY_SCRIPT_PATH = '/console/assets/copy.js';

export function registerAssets(app: AdminApp): void {
  // Revalidated on each use: the files are small, and a new version shows at once.
  const headers = { 'cache-control': 'no-cache' };
  app.get(STYLESHEET_PATH, (c) =>
    c.body(STYLESHEET, 200, { ...headers, 'content-type': 'text/css; charset=utf-8' }),
  );
  app.get(COPY_SCRIPT_PATH, (c) =>
    c.body(COPY_SCRIPT, 200, { ...headers, 'content-type': 'text/javascript; charset=utf-8' }),
  );
}
