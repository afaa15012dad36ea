"""HTTP API v1: endpoints, request and answer shapes, the OpenAPI document, problem+json."""
