from cl.cli.main import main

main()
