"""releasebot's Slack delivery: the Bolt app, its listeners, Block Kit builders, error mapping."""
