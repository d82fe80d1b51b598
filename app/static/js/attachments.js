// Files on tickets: the drop zones of the forms and the delete confirmation of the ticket page.
// - A drop zone ([data-file-drop]) takes files dropped on it into its <input type=file multiple>
//   (added to those already chosen) and lists the names of what will be sent. Choosing with the
//   button (on a phone: camera or gallery) works without any of this.
// - A file's delete form asks first.
(function () {
  'use strict';

  function sizeLabel(bytes) {
    if (bytes < 1024) { return bytes + ' B'; }
    if (bytes < 1024 * 1024) { return Math.round(bytes / 1024) + ' KB'; }
    return (bytes / (1024 * 1024)).toFixed(1) + ' MB';
  }

  function showChosen(zone, input) {
    var list = zone.querySelector('.file-drop-list');
    if (!list) { return; }
    list.textContent = '';
    Array.prototype.forEach.call(input.files || [], function (file) {
      var item = document.createElement('li');
      item.textContent = file.name + ' (' + sizeLabel(file.size) + ')';
      list.appendChild(item);
    });
    var max = parseInt(input.getAttribute('data-max-files') || '0', 10);
    if (max && input.files && input.files.length > max) {
      var warning = document.createElement('li');
      warning.className = 'text-danger';
      warning.textContent = zone.getAttribute('data-too-many') || '';
      list.appendChild(warning);
    }
  }

  function takeDropped(input, dropped) {
    if (typeof DataTransfer === 'undefined') { input.files = dropped; return; }
    var all = new DataTransfer();
    Array.prototype.forEach.call(input.files || [], function (file) { all.items.add(file); });
    Array.prototype.forEach.call(dropped, function (file) { all.items.add(file); });
    input.files = all.files;
  }

  Array.prototype.forEach.call(document.querySelectorAll('[data-file-drop]'), function (zone) {
    var input = zone.querySelector('input[type=file]');
    if (!input) { return; }
    input.addEventListener('change', function () { showChosen(zone, input); });
    ['dragenter', 'dragover'].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add('file-drop-over');
      });
    });
    ['dragleave', 'drop'].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove('file-drop-over'); });
    });
    zone.addEventListener('drop', function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files && event.dataTransfer.files.length) {
        takeDropped(input, event.dataTransfer.files);
        showChosen(zone, input);
      }
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll('form[data-confirm]'), function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.getAttribute('data-confirm'))) { event.preventDefault(); }
    });
  });
}());
