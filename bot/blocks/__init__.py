"""Block Kit builders: pure functions of core's domain objects, validated by slack_sdk's models."""
