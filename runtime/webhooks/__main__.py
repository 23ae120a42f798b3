"""`python -m runtime.webhooks <source> --port N`: the receiver without the generator installed."""

import sys

from runtime.webhooks.serve import main

sys.exit(main())
