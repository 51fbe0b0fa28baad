"""The whole deskmail service on one machine: moto as AWS, `chalice local` as the API, a feedback worker, and an
SES mailbox simulator that answers every sent message the way real SES event publishing does (`make run`)."""
