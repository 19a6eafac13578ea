"""Custom domains of stores: adding, DNS TXT verification, primary choice, the TLS ask endpoint."""
