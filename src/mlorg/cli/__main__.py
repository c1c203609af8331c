"""``python -m mlorg.cli``: the same as the ``mlorg`` command."""

import sys

from mlorg.cli import main

sys.exit(main())
