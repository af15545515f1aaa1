# Counts clicks on the button and shows the total.
class Counter
  constructor: (@el, @out) ->
    @count = 0
    @el.addEventListener 'click', => @bump()
  bump: ->
    @count += 1
    @out.textContent = "clicked #{@count}×"

window.Site.counter = (button, output) -> new Counter(button, output)
document.documentElement.setAttribute 'data-app-ran', 'yes'
