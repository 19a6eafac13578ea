"""Order exports: CSV and XLSX files of a store's filtered order list, streamed or built by a job."""
