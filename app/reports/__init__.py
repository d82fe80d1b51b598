"""Reports: exports of lists, the weekly digest."""
