"""`python -m latentlab [CHECKPOINT]`: the explorer window."""

import sys

from latentlab.ui.app import main

sys.exit(main(sys.argv[1:]))
