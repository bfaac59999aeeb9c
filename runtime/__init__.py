"""What every process runs on: settings, logging, health and HTTP serving, the ClickHouse client, secret books. The
bottom floor: imports nothing of ours."""
