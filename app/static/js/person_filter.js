// Person pickers in the list filters (class "person-filter"): Select2 asking the server as one
// types, instead of every staff member rendered into the page. FAB's filter script adds the
// filter rows; this watches the filter table and upgrades each new picker once.
(function ($) {
  function upgrade(root) {
    $(root).find('select.person-filter').not('.select2-hidden-accessible').each(function () {
      var $select = $(this);
      $select.select2({
        theme: 'bootstrap',
        width: '100%',
        allowClear: true,
        placeholder: $select.data('placeholder'),
        minimumInputLength: 1,
        ajax: {
          url: $select.data('endpoint'),
          dataType: 'json',
          delay: 200,
          data: function (params) { return {q: params.term}; },
          processResults: function (data) { return {results: data}; }
        }
      });
    });
  }
  $(function () {
    var table = document.querySelector('#filter_form .filters');
    if (!table) { return; }
    upgrade(table);
    new MutationObserver(function () { upgrade(table); }).observe(table, {childList: true, subtree: true});
  });
})(jQuery);
