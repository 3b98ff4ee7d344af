"""The master orchestrator: runs export -> compile -> invoke -> poll -> ml over a platform's ports.

Modules, one concern each: `pipeline` (named steps and how a run executes them, recorded in
the run store), `steps` (the five real steps and `make_pipeline(platform)`), `launcher`
(the single-run guard, retried triggers, running now or in the background), `api` (the
`POST /run` and `GET /runs` blueprint the service mounts), `cli` (`winter-days run`),
`logs` (Cloud Logging's structured lines and trace context), `metrics` (`GET /metrics`),
`step_lineage` (what each step reads and writes, for lineage events) and `retention`
(pruning old pipeline artefacts). The run store itself lives in `winter_days.runs`, the
service in `winter_days.service`. Nothing here is imported at package import time.
"""
