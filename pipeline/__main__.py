from pipeline.cli.main import run

run()
