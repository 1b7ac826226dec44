from cl.cli.main import run

run()
