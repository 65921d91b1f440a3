"""``python -m gateway.demo``: the demo command."""

import sys

from gateway.demo.cli import main

sys.exit(main())
