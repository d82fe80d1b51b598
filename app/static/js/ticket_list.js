// The ticket list's filter bar: Select2 on the multi-choice filters, as-you-type person pickers
// (with "Me" and "No assignee" first), and empty fields left out of the URL on submit.
(function ($) {
  $(function () {
    $('#ticket-filters select.multi-choice').each(function () {
      var $select = $(this);
      $select.select2({theme: 'bootstrap', width: '100%', placeholder: $select.data('placeholder')});
    });
    $('#ticket-filters select.person-choice').each(function () {
      var $select = $(this);
      var extra = $select.data('extra') || [];
      $select.select2({
        theme: 'bootstrap',
        width: '100%',
        placeholder: $select.data('placeholder'),
        ajax: {
          url: $select.data('endpoint'),
          dataType: 'json',
          delay: 200,
          data: function (params) { return {q: params.term || ''}; },
          processResults: function (data, params) {
            var term = (params.term || '').toLowerCase();
            var first = extra.filter(function (item) { return !term || item.text.toLowerCase().indexOf(term) !== -1; });
            return {results: first.concat(data)};
          }
        }
      });
    });
    $('#ticket-filters').on('submit', function () {
      $(this).find('input, select').each(function () {
        var value = $(this).val();
        if (value === '' || value === null || (Array.isArray(value) && value.length === 0)) {
          $(this).prop('disabled', true);
        }
      });
    });
  });
})(jQuery);
