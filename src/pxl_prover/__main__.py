"""`python -m pxl_prover` is the server (README), the same as `pxl-prover`."""

import sys

from pxl_prover.cli import server_main

sys.exit(server_main())
