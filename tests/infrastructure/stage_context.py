"""The CDK context the infrastructure tests synthesize with."""

# The production shape, with an alarm address and receipt rule set activation so the optional resources (alarm
# topic, activation call) are synthesized too. Values differ from cdk.json's defaults so the tests see them arrive.
CONTEXT = {
    "stage": "prod",
    "sender": "Example Support <support@mail.example.org>",
    "sender_domain": "mail.example.org",
    "alarm_email": "oncall@example.org",
    "log_retention_days": 365,
    "lambda_timeout_seconds": 20,
    "api_timeout_seconds": 24,
    "feedback_batch_size": 25,
    "feedback_batching_window_seconds": 7,
    "feedback_max_concurrency": 4,
    "inbound_batch_size": 3,
    "inbound_batching_window_seconds": 2,
    "inbound_max_concurrency": 3,
    "inbound_recipients": ["support@mail.example.org", "replies.example.org"],
    "activate_receipt_rule_set": True,
    "inbound_mail_retention_days": 45,
    "attachment_retention_days": 400,
    "download_url_template": "https://support.example.org/api/files/{token}",
    "first_admin_email": "Admin@Mail.Example.org",
    "cognito_refresh_token_days": 7,
    "transient_bounce_threshold": 4,
    "transient_bounce_window_days": 9,
    "max_notifications_per_10_minutes": 6,
    "max_notifications_per_hour": 15,
    "api_throttle_rate": 11,
    "api_throttle_burst": 22,
    "api_send_throttle_rate": 3,
    "api_send_throttle_burst": 6,
    "waf_requests_per_5_minutes_per_ip": 700,
    "mail_from_subdomain": "envelope",
    "powertools_log_level": "DEBUG",
}

# cdk.json's dev defaults as they are: the optional parts stay off.
DEV_CONTEXT: dict = {}
