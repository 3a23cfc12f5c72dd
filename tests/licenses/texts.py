"""License texts for the detection tests."""

from ptmscope.demo.licenses import TEXTS

# The standard texts the demo projects carry: one copy in the package, read by the tests too.
MIT = TEXTS["MIT"]
BSD_3_CLAUSE = TEXTS["BSD-3-Clause"]
ISC = TEXTS["ISC"]

CUSTOM = """Example Research Terms

You may read this code. You may not run it, copy it or publish it in any form without written permission
from the Example Lab. These terms end when the Example Lab says so.
"""
