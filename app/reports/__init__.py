"""Reports: the dashboard's figures (SQL aggregates), the weekly digest, exports."""
