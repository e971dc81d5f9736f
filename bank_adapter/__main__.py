"""`python -m bank_adapter`: the `bank-adapter` command, for where its script is not on PATH."""

import sys

from bank_adapter.cli import main

sys.exit(main())
