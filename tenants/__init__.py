"""Multi-tenancy machinery: which store a request or job is for, and where its data lives."""
