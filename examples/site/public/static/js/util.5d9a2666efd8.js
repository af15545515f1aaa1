// Helpers shared by the page scripts. No trailing semicolons on purpose: joining must cope.
window.Site = window.Site || {}
window.Site.greet = function (name) {
  return 'Hello, ' + name + '!'
}
// the file ends in a line comment
