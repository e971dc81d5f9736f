"""Services: each partner operation as a short function over a transaction and the domain."""
