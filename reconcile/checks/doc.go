// Package checks is steward's checks stage: it runs over every object of a
// revision before anything is applied, and is shared by `steward verify`,
// `steward sync` and the daemon.
//
// Two kinds of check run, offline and deterministic:
//
//   - schema: Kubernetes objects are validated against the OpenAPI v3
//     schemas of the built-in kinds of the Kubernetes release embedded here
//     (see generate.go), the way the API server with strict field validation
//     would: unknown fields, wrong types, missing required fields, bad enum
//     values and formats, int-or-string and quantities. Kinds defined by a
//     CustomResourceDefinition in the same run are validated against its
//     openAPIV3Schema; other kinds outside the built-in groups are reported
//     as unchecked. Machine kinds (group machine.steward.dev, any version)
//     and every object of a unit whose target applies machine kinds are
//     handed to Options.ValidateMachine, so an unknown apiVersion or kind
//     refuses the revision here rather than failing at plan.
//   - rules: the CEL expressions of the stack file's checks, with object
//     bound to the object, selected by apiVersion/kind/name/namespace globs
//     and units.
//
// A Checker is built once per stack (New compiles every rule) and is safe for
// concurrent use; Check returns a Report whose failures name unit, object,
// rule, field and message, sorted. Values of Secrets never appear in
// messages.
//
// Globs use path.Match, so "*" does not cross "/": match every apps
// apiVersion with "apps/*". The x-kubernetes-validations of CRD schemas run
// with self as a dynamic value: rules using oldSelf or Kubernetes-only
// functions are skipped, and only a definite false fails (an evaluation
// error may come from typing the API server does and this does not). The
// built-in schemas carry no enums, so enum values are checked for custom
// resources only.
package checks
