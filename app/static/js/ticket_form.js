// The ticket forms (create and edit).
// - The assignee picker (select.person-picker) asks the server as one types, the people of the
//   team chosen in the form first, instead of every staff member rendered into the page.
// - On the create form, a booking ID that already has open tickets shows them (those the
//   person may see) beneath the field, fetched a moment after typing stops. Saving stays allowed.
(function ($) {
  // The colours of the ticket page's status badge.
  var STATUS_LABELS = {'Open': 'info', 'In Progress': 'warning', 'Waiting': 'default', 'Resolved': 'success'};

  function assigneePickers() {
    $('select.person-picker').each(function () {
      var $select = $(this);
      var team = document.getElementById($select.data('team-field'));
      $select.select2({
        theme: 'bootstrap',
        width: '100%',
        placeholder: $select.data('placeholder'),
        maximumSelectionLength: $select.data('maximum'),
        ajax: {
          url: $select.data('endpoint'),
          dataType: 'json',
          delay: 200,
          data: function (params) {
            return {q: params.term || '', assignable: 1, team: team ? team.value : ''};
          },
          processResults: function (data) { return {results: data}; }
        }
      });
    });
  }

  function duplicateWarning() {
    var box = document.getElementById('duplicate-warning');
    var input = document.getElementById('booking_id');
    if (!box || !input) { return; }
    input.parentNode.appendChild(box);  // beneath the field and its help text
    input.setAttribute('autocomplete', 'off');
    var list = box.querySelector('.duplicate-list');
    var timer = null;
    var asked = null;
    var latest = 0;

    function text(tag, className, value) {
      var node = document.createElement(tag);
      node.className = className;
      node.textContent = value;
      return node;
    }

    function show(tickets) {
      list.textContent = '';
      tickets.forEach(function (ticket) {
        var item = document.createElement('li');
        var link = text('a', 'duplicate-ref', ticket.ref);
        link.href = ticket.url;
        link.target = '_blank';  // the form keeps what was typed
        link.rel = 'noopener';
        item.appendChild(link);
        item.appendChild(text('span', 'label label-' + (STATUS_LABELS[ticket.status_code] || 'default') +
          ' duplicate-status', ticket.status));
        item.appendChild(text('span', 'duplicate-subject', ticket.subject));
        item.appendChild(text('div', 'duplicate-assignees', box.dataset.assignees + ': ' +
          (ticket.assignees.length ? ticket.assignees.join(', ') : box.dataset.nobody)));
        list.appendChild(item);
      });
      box.hidden = tickets.length === 0;
    }

    function check() {
      var value = input.value.trim();
      if (value === asked) { return; }
      asked = value;
      var mine = ++latest;  // an older, slower answer never replaces a newer one
      if (value.length < 3) { show([]); return; }
      fetch(box.dataset.endpoint + '?booking_id=' + encodeURIComponent(value), {
        credentials: 'same-origin', headers: {'Accept': 'application/json'}
      }).then(function (response) {
        return response.ok ? response.json() : {tickets: []};
      }).then(function (data) {
        if (mine === latest) { show(data.tickets || []); }
      }).catch(function () {
        if (mine === latest) { show([]); }
      });
    }

    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(check, 300);
    });
    input.addEventListener('change', check);
    check();  // a booking ID already there (the form shown again after a refused save)
  }

  $(function () {
    assigneePickers();
    duplicateWarning();
  });
})(jQuery);
