"""The CDK context the infrastructure tests synthesize with."""

# The production shape, with an alarm address so the optional alarm topic is synthesized too.
CONTEXT = {
    "stage": "prod",
    "sender": "Example Support <support@mail.example.org>",
    "sender_domain": "mail.example.org",
    "alarm_email": "oncall@example.org",
    "log_retention_days": 365,
    "lambda_timeout_seconds": 20,
    "feedback_batch_size": 25,
    "feedback_batching_window_seconds": 7,
    "feedback_max_concurrency": 4,
    "api_throttle_rate": 11,
    "api_throttle_burst": 22,
    "powertools_log_level": "DEBUG",
}
