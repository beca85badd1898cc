import sys

from irkit.cli.main import main

sys.exit(main())
