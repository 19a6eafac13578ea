"""The audit log: who did what, when, in which store, with the before and after."""
