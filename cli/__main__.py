"""`python -m netralitas.cli ...` runs the command line (torchrun and accelerate launch use it)."""

import sys

from netralitas.cli.main import main

sys.exit(main())
