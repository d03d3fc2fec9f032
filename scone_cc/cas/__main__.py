from scone_cc.cas.cli import main

main()
