"""The business rules of activation and payment: pure functions, no I/O, no clock reads."""
