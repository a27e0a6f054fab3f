import sys

from idp.cli.main import main

sys.exit(main())
