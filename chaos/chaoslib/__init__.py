"""The chaos harness's parts: private stores, nodes, business service, gRPC client, checks, scenarios."""
