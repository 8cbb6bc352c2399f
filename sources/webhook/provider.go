package webhook

import "net/http"

// The providers, the last path element of their endpoints.
const (
	GitHub  = "github"
	GitLab  = "gitlab"
	Gitea   = "gitea"
	Generic = "generic"
)

// eventKind is what a verified request asks for.
type eventKind int

const (
	eventPush   eventKind = iota // trigger
	eventPing                    // answer 200, trigger nothing
	eventIgnore                  // an event steward does not act on
)

// provider is one host's conventions.
type provider struct {
	// tokenAuth providers are checked before the body is read.
	tokenAuth bool
	// verify authenticates the request; body is nil for tokenAuth.
	verify func(r *http.Request, secret, body []byte) error
	// event classifies the request and names its event for logs.
	event func(r *http.Request) (eventKind, string)
	// parse reads a push payload.
	parse func(body []byte) (Push, error)
	// delivery is the header carrying the host's delivery id.
	delivery string
}

var providers = map[string]provider{
	GitHub:  github,
	GitLab:  gitlab,
	Gitea:   gitea,
	Generic: generic,
}
