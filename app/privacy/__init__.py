"""Customers' privacy in each store: the privacy policy page, data export, deletion on request
(anonymisation that keeps orders for the books) and retention periods applied by a job."""
