package checks

// schemas.json.gz holds the OpenAPI v3 schemas of the built-in kinds of this
// Kubernetes release, reduced by internal/schemagen (see its doc comment).
//go:generate go run ./internal/schemagen -version v1.37.0 -o schemas.json.gz
