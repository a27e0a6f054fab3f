from plugins.pocket_mfa.client.cli import main

raise SystemExit(main())
