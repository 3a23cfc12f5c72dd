"""Reports: the HTML report with the papers' tables and figures, and the audit of one code base."""
