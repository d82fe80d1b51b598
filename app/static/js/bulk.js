// The ticket list's bulk toolbar (templates/tickets/_bulk_toolbar.html) inside #bulk-form:
// "select all on this page", the count of selected rows, only the value controls of the chosen
// action (resolution notes only when resolving), the as-you-type person picker, and a check
// before sending that rows and an action are chosen. The server checks everything again.
(function ($) {
  $(function () {
    var form = document.getElementById('bulk-form');
    var toolbar = document.getElementById('bulk-toolbar');
    if (!form || !toolbar) { return; }
    var all = document.getElementById('bulk-select-all');
    var count = document.getElementById('bulk-count');
    var action = document.getElementById('bulk-action');
    var status = document.getElementById('bulk-status');

    function rows() { return form.querySelectorAll('input.action_check'); }
    function checked() { return form.querySelectorAll('input.action_check:checked'); }

    function showCount() {
      var n = checked().length;
      count.textContent = n === 1 ? toolbar.dataset.selectedOne : toolbar.dataset.selectedMany.replace('__n__', n);
      all.checked = n > 0 && n === rows().length;
      all.indeterminate = n > 0 && n < rows().length;
    }

    function showControls() {
      toolbar.querySelectorAll('[data-bulk-for]').forEach(function (el) {
        var shown = el.dataset.bulkFor.split(' ').indexOf(action.value) >= 0;
        if (shown && el.dataset.bulkStatus) { shown = status && el.dataset.bulkStatus.split(' ').indexOf(status.value) !== -1; }
        el.hidden = !shown;
        // Hidden values are not sent: a hidden textarea or select must not travel with the form.
        el.querySelectorAll('select, textarea, input').forEach(function (field) { field.disabled = !shown; });
      });
    }

    all.addEventListener('change', function () {
      rows().forEach(function (box) { box.checked = all.checked; });
      showCount();
    });
    form.addEventListener('change', function (event) {
      if (event.target.classList.contains('action_check')) { showCount(); }
    });
    action.addEventListener('change', showControls);
    if (status) { status.addEventListener('change', showControls); }

    form.addEventListener('submit', function (event) {
      var message = !checked().length ? toolbar.dataset.noneSelected : (!action.value ? toolbar.dataset.chooseAction : '');
      if (message) {
        event.preventDefault();
        window.alert(message);
      }
    });

    var people = $(toolbar).find('select.bulk-people');
    if (people.length && $.fn.select2) {
      people.select2({
        theme: 'bootstrap',
        width: '100%',
        placeholder: people.data('placeholder'),
        minimumInputLength: 1,
        ajax: {
          url: people.data('endpoint'),
          dataType: 'json',
          delay: 200,
          data: function (params) { return {q: params.term}; },
          processResults: function (data) { return {results: data}; }
        }
      });
    }
    showControls();
    showCount();
  });
})(jQuery);
