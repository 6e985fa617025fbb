"""`python -m flowdigest.sample ...` is `flowdigest sample ...`."""

import sys

from flowdigest.cli import main

sys.exit(main(["sample", *sys.argv[1:]]))
