(function() {
  // Counts clicks on the button and shows the total.
  var Counter;

  Counter = class Counter {
    constructor(el, out) {
      this.el = el;
      this.out = out;
      this.count = 0;
      this.el.addEventListener('click', () => {
        return this.bump();
      });
    }

    bump() {
      this.count += 1;
      return this.out.textContent = `clicked ${this.count}×`;
    }

  };

  window.Site.counter = function(button, output) {
    return new Counter(button, output);
  };

  document.documentElement.setAttribute('data-app-ran', 'yes');

}).call(this);
