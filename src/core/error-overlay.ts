// What a build error looks like in the browser (debug only): one overlay for the error
// stylesheet, the error script and the live-reload client, so all three look and stack alike.

/** The id of the overlay element; the live-reload client and tests find it by this. */
export const OVERLAY_ID = 'convoy-error-overlay';

/** Class the live-reload client puts on <html>: it shows errors itself, as real text. */
export const LIVE_CLASS = 'convoy-live';

/** The custom property an error stylesheet sets on :root, so the client can read its text. */
export const ERROR_PROPERTY = '--convoy-error';

// Above Bootstrap's fixed-top (1030), modals (1055) and anything short of the maximum.
const BOX =
  'position:fixed;top:0;left:0;right:0;z-index:2147483647;max-height:60vh;overflow:auto;box-sizing:border-box;margin:0;' +
  'padding:1em 1.25em;background:#fff0f0;color:#900;border-bottom:3px solid #c00;box-shadow:0 4px 16px rgba(0,0,0,.3);' +
  'font:14px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;text-align:left';

/** A CSS string literal of any text (newlines as `\A`). */
export function cssString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\A ').replace(/[\u0000-\u001f\u007f]/g, ' ')}"`;
}

/**
 * The error stylesheet: a fixed banner above everything drawn by `body::before` (CSS can do no
 * more), and the text in a custom property so the live-reload client can show it as real text
 * and in the console (it then hides the banner).
 */
export function overlayCss(text: string): string {
  const s = cssString(text);
  return (
    `:root{${ERROR_PROPERTY}:${s}}\n` +
    `body::before{content:${s};display:block;${BOX}}\n` +
    `html.${LIVE_CLASS} body::before{content:none;display:none}\n`
  );
}

/**
 * Browser code of `function (text)`: shows `text` in the overlay (creating it at the end of
 * <body>, after the DOM is ready), or removes the overlay when `text` is empty. Clicking it
 * dismisses it until the next error.
 */
export const OVERLAY_FN =
  'function(t){var d=document,i=' + JSON.stringify(OVERLAY_ID) + ';' +
  'function go(){var e=d.getElementById(i);if(!t){if(e)e.remove();return}' +
  'if(!e){e=d.createElement("pre");e.id=i;e.setAttribute("role","alert");e.title="click to dismiss";' +
  'e.onclick=function(){e.remove()};e.style.cssText=' + JSON.stringify(BOX) + '}' +
  'e.textContent=t;d.body.appendChild(e)}' +
  'if(d.body)go();else d.addEventListener("DOMContentLoaded",go)}';

/** The error script: logs to the console and shows the overlay. */
export function overlayJs(text: string): string {
  const t = JSON.stringify(text);
  return `console.error(${t});\n(${OVERLAY_FN})(${t});\n`;
}
