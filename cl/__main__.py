from cl.cli.entry import run

run()
