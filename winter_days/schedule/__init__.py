"""The platform's cron (`winter-days schedule`): the generator jobs at 01:00 UTC (startups on
Fridays) and a POST /run to the orchestrator at 02:00, as Cloud Scheduler does on gcp."""
