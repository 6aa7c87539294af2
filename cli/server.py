"""`releasebot serve` (the Slack bot) — filled in by the Slack issue."""
COMMANDS = ()
