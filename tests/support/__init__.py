"""What tests share: running components, stand-ins for Slack, timelines, events and waiting."""
