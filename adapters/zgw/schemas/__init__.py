"""ZGW request-body schemas (JSON Schema in YAML), vendored from the published OpenAPI files; see each header."""
