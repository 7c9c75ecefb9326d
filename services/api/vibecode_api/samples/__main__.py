"""`python -m vibecode_api.samples`: fill the demo workspace of a running API."""

from __future__ import annotations

import sys

from . import main

sys.exit(main())
