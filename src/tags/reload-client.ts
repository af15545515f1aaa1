import { ERROR_PROPERTY, LIVE_CLASS, OVERLAY_FN, OVERLAY_ID } from '../core/error-overlay.ts';

/** Where the live-reload event stream is served, under staticUrl's path. */
export const EVENTS_PATH = '__convoy/events';

/** Marks the client's <script>, so it is never put on a page twice. */
export const CLIENT_MARK = 'data-convoy-reload';

// The browser side of live reload. Events (Server-Sent Events, see adapters/live-reload.ts):
//   hello  {id, error}          on (re)connect; another id means the server restarted: reload
//   status {error}              a build error's text with file and line, '' once fixed
//   css    {swaps:[{from, pattern?, to}]}   stylesheets whose output changed
//   reload {reason}             a script, template or other file changed
//   stale  {reason}             a compiled source no build knows changed: reload if this page shows an error
// A stylesheet is swapped the way Vite does it: the <link> is cloned with the new URL and the old
// one removed once the new one has loaded, so the page never flashes unstyled and keeps its state.
const CLIENT = `(function(url){
if(window.__convoyReload)return;window.__convoyReload=1;
var d=document,overlay=(${OVERLAY_FN}),serverError='',shown='',id;
d.documentElement.classList.add(${JSON.stringify(LIVE_CLASS)});
function cssError(){var v=getComputedStyle(d.documentElement).getPropertyValue(${JSON.stringify(ERROR_PROPERTY)}).trim();
return v?v.replace(/^"|"$/g,'').replace(/\\\\A ?/g,'\\n').replace(/\\\\(.)/g,'$1'):''}
function show(){var t=serverError||cssError();if(t&&t!==shown)console.error(t);shown=t;overlay(t)}
function abs(u){try{var x=new URL(u,location.href);return x.origin+x.pathname}catch(e){return u}}
function swap(s){var from=s.from.map(abs),re=s.pattern?new RegExp(s.pattern):null;
d.querySelectorAll('link[rel~="stylesheet"]').forEach(function(l){
if(l.dataset.convoyOld||!l.href)return;var h=abs(l.href);
if(l.href===new URL(s.to,location.href).href||from.indexOf(h)<0&&!(re&&re.test(new URL(h).pathname)))return;
var n=l.cloneNode(false);n.href=s.to;l.dataset.convoyOld='1';
n.onload=function(){l.remove();show()};n.onerror=function(){n.remove();delete l.dataset.convoyOld};
l.parentNode.insertBefore(n,l.nextSibling)})}
function on(name,fn){es.addEventListener(name,function(e){fn(JSON.parse(e.data))})}
var es=new EventSource(url);
on('hello',function(m){if(id&&m.id!==id)return location.reload();id=m.id;serverError=m.error||'';show()});
on('status',function(m){serverError=m.error||'';show()});
on('css',function(m){m.swaps.forEach(swap)});
on('reload',function(m){console.info('convoy: reloading, '+m.reason);location.reload()});
on('stale',function(m){if(shown||d.getElementById(${JSON.stringify(OVERLAY_ID)})){console.info('convoy: reloading, '+m.reason);location.reload()}});
if(d.readyState==='complete')show();else addEventListener('load',show);
})`;

/** The `<script>` the `convoy_reload` tag prints in debug: connects to the event stream under `staticPath`. */
export function reloadClient(staticPath: string): string {
  // `<` escaped: a configured path can never close the <script> element.
  return `<script ${CLIENT_MARK}>${CLIENT}(${JSON.stringify(staticPath + EVENTS_PATH).replace(/</g, '\\u003c')});</script>`;
}
