"""Pure functions from the store to the papers' tables and figures."""
