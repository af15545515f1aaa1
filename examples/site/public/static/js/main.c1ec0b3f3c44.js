(function () {
  var el = document.getElementById('greeting')
  if (el) el.textContent = window.Site.greet('convoy')
  document.documentElement.setAttribute('data-main-ran', 'yes')
})()
