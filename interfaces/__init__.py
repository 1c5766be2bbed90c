"""Entry points: the HTTP/WebSocket API, the CLI, workers and runners."""
