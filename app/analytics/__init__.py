"""Store analytics: storefront visit counts and the back-office dashboard's figures and chart."""
