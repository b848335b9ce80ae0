"""The pure core: domain values and policy. No Slack, storage or scheduling imports here."""
