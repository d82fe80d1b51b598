// The comment box's @ picker: typing "@" and a few letters lists the people who may see this
// ticket (name and email, asked from the server as one types); choosing one (click, tap, Enter
// or Tab) puts "@<their email> " in place of what was typed after the "@". Arrow keys move,
// Escape closes. The list is a plain ARIA listbox under the box, as wide as the box (a phone
// too). No inline script or style: it runs under the page's Content-Security-Policy.
(function () {
  'use strict';

  var DELAY_MS = 150;

  function init(box) {
    var url = box.getAttribute('data-mentions-url');
    var list = document.getElementById(box.getAttribute('aria-controls'));
    var status = document.getElementById('mention-status');
    if (!url || !list) return;
    var people = [], active = -1, timer = null, asked = 0, token = null;

    // "@term" just before the caret, at the start of a word, or null.
    function current() {
      var before = box.value.slice(0, box.selectionStart);
      var match = /(^|[\s(,;])@(\S{0,60})$/.exec(before);
      if (!match) return null;
      return {start: before.length - match[2].length - 1, term: match[2]};
    }

    function close() {
      people = []; active = -1; token = null;
      list.hidden = true;
      list.textContent = '';
      box.setAttribute('aria-expanded', 'false');
      box.removeAttribute('aria-activedescendant');
    }

    function highlight(index) {
      var items = list.querySelectorAll('[role="option"]');
      active = index;
      for (var i = 0; i < items.length; i++) {
        items[i].setAttribute('aria-selected', i === index ? 'true' : 'false');
        items[i].classList.toggle('active', i === index);
      }
      if (items[index]) {
        box.setAttribute('aria-activedescendant', items[index].id);
        items[index].scrollIntoView({block: 'nearest'});
      }
    }

    function show(found) {
      people = found;
      list.textContent = '';
      if (!found.length) {
        var empty = document.createElement('li');
        empty.className = 'mention-empty text-muted';
        empty.textContent = list.getAttribute('data-empty');
        list.appendChild(empty);
      }
      found.forEach(function (person, index) {
        var item = document.createElement('li');
        item.id = 'mention-option-' + index;
        item.setAttribute('role', 'option');
        item.className = 'mention-option';
        var name = document.createElement('strong');
        name.textContent = person.name;
        var email = document.createElement('span');
        email.className = 'mention-email';
        email.textContent = person.email;
        item.appendChild(name);
        item.appendChild(email);
        // pointerdown, not click: the box keeps the focus (and a phone its keyboard).
        item.addEventListener('pointerdown', function (event) {
          event.preventDefault();
          choose(index);
        });
        list.appendChild(item);
      });
      list.hidden = false;
      box.setAttribute('aria-expanded', 'true');
      if (status) status.textContent = found.length ? list.getAttribute('data-found').replace('#', found.length) : list.getAttribute('data-empty');
      highlight(found.length ? 0 : -1);
    }

    function ask(at) {
      var mine = ++asked;
      token = at;
      fetch(url + '?q=' + encodeURIComponent(at.term), {credentials: 'same-origin', headers: {Accept: 'application/json'}})
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (found) { if (mine === asked && token) show(found); })
        .catch(close);
    }

    function choose(index) {
      var person = people[index], at = current();
      if (!person || !at) return close();
      var after = box.value.slice(box.selectionStart).replace(/^\S*/, '');
      var inserted = person.insert + ' ';
      box.value = box.value.slice(0, at.start) + inserted + after.replace(/^ /, '');
      var caret = at.start + inserted.length;
      box.setSelectionRange(caret, caret);
      box.focus();
      close();
      box.dispatchEvent(new Event('input', {bubbles: true}));
    }

    box.addEventListener('input', function () {
      var at = current();
      clearTimeout(timer);
      if (!at) return close();
      timer = setTimeout(function () { ask(at); }, DELAY_MS);
    });
    box.addEventListener('keydown', function (event) {
      if (list.hidden || !people.length) {
        if (event.key === 'Escape' && !list.hidden) close();
        return;
      }
      if (event.key === 'ArrowDown') { highlight((active + 1) % people.length); event.preventDefault(); }
      else if (event.key === 'ArrowUp') { highlight((active - 1 + people.length) % people.length); event.preventDefault(); }
      else if (event.key === 'Enter' || event.key === 'Tab') { if (active >= 0) { choose(active); event.preventDefault(); } }
      else if (event.key === 'Escape') { close(); event.preventDefault(); }
    });
    box.addEventListener('blur', function () { setTimeout(close, 150); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var boxes = document.querySelectorAll('textarea[data-mentions-url]');
    for (var i = 0; i < boxes.length; i++) init(boxes[i]);
  });
})();
