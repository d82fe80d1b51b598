// The ticket page: the Resolve and Reopen buttons open their form (Bootstrap's collapse, through
// data attributes); this puts the cursor in the form's text box once it is open.
(function ($) {
  $(function () {
    $('#resolve-form, #reopen-form').on('shown.bs.collapse', function () {
      $(this).find('textarea').first().trigger('focus');
    });
  });
})(jQuery);
