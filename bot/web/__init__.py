"""The web dashboard: pages, a REST API and one WebSocket, served by the daemon's own uvicorn."""
