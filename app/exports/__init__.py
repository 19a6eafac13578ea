"""Order exports: CSV and XLSX files of a store's filtered orders, streamed or built by a job."""
