// Configuration read by `convoy build` (and by `npm run demo`). Paths resolve from this folder.
export default {
  // Our own files first; Bootstrap's distribution second, so `css/bootstrap.css` comes from there.
  sources: ['static', '../../node_modules/bootstrap/dist'],
  staticRoot: 'public/static',
  staticUrl: '/static/',
  templates: ['templates'],
};
