"""Entry script of the frozen build: the same `bloodcell` command, GUI or headless."""

import sys

from bloodcell_gui.entry import main

if __name__ == "__main__":
    sys.exit(main())
