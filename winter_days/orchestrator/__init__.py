"""The master orchestrator: runs export -> compile -> invoke -> poll -> ml, over HTTP or the CLI.

Modules, one concern each: `options` (the orchestrator's settings), `history` (run history,
single-run guard and export watermark in SQLite), `pipeline` (named steps and how a run
executes them), `steps` (the real steps and `make_pipeline`), `auth` (bearer verifiers),
`app` (the Flask app factory), `metrics`, `logs`, `cli` (`serve` and `run`).
Nothing here is imported at package import time.
"""
