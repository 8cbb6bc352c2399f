package reconcile

import (
	"strings"
	"testing"
)

const imagesHeader = "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  t: {local: {root: out}}\nunits: []\nimages:\n"

func TestParseStackImages(t *testing.T) {
	y := imagesHeader + `  insecureRegistries: [localhost:5000]
  schedule: "*/5 * * * *"
  policies:
    - {name: app, image: registry.example.com/team/app, semver: ">=1.2.0 <2", minAge: 24h}
    - {name: web, image: registry.example.com/team/web, channel: candidate, digest: pin}
    - {name: nightly, image: registry.example.com/team/tool, filter: {pattern: '^main-(?P<ts>[0-9]+)$', extract: '$ts'}, numerical: asc}
    - {name: docs, image: nginx, alphabetical: desc}
  update:
    branch: main
    pushBranch: image-updates
    pullRequest: {provider: github, repo: org/shop}
    message: "images: {{len .Changes}} updates"
    author: {name: steward, email: steward@example.com}
    signingKey: images-key
`
	s, err := ParseStack([]byte(y), "steward.yaml")
	if err != nil {
		t.Fatal(err)
	}
	im := s.Images
	if len(im.Policies) != 4 || im.Policies[0].MinAge.D().Hours() != 24 || im.Policies[1].Digest != "pin" ||
		im.Policies[2].Filter.Extract != "$ts" || im.Update.PullRequest.Repo != "org/shop" || im.InsecureRegistries[0] != "localhost:5000" {
		t.Fatalf("images decoded wrong: %+v", im)
	}
	if spec := PolicySpec(im.Policies[2]); spec.Numerical != "asc" || spec.FilterPattern != "^main-(?P<ts>[0-9]+)$" {
		t.Fatalf("PolicySpec = %+v", spec)
	}
}

func TestParseStackImagesErrors(t *testing.T) {
	policy := func(p string) string { return imagesHeader + "  policies:\n    - " + p + "\n" }
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"bad range", policy(`{name: a, image: r/a, semver: "banana"}`),
			[]string{`steward.yaml:8:37: images.policies[0].semver: bad range "banana"`}},
		{"bad regex", policy(`{name: a, image: r/a, numerical: asc, filter: {pattern: "(["}}`),
			[]string{`steward.yaml:8:63: images.policies[0].filter.pattern: bad regular expression`}},
		{"extract naming no group", policy(`{name: a, image: r/a, numerical: asc, filter: {pattern: "^(?P<ts>[0-9]+)$", extract: "$build"}}`),
			[]string{`steward.yaml:8:92: images.policies[0].filter.extract: "$build" names no group "build" of the pattern (groups: ts)`}},
		{"extract without a reference", policy(`{name: a, image: r/a, numerical: asc, filter: {pattern: "^([0-9]+)$", extract: "ts"}}`),
			[]string{`images.policies[0].filter.extract: "ts" names no group of the pattern`}},
		{"unknown channel", policy(`{name: a, image: r/a, channel: nightly}`),
			[]string{`steward.yaml:8:38: images.policies[0].channel: unknown channel "nightly" (want one of stable, candidate, beta, edge)`}},
		{"no order", policy(`{name: a, image: r/a}`),
			[]string{`steward.yaml:8:7: images.policies[0]: a policy sets one order`}},
		{"two orders", policy(`{name: a, image: r/a, semver: "*", alphabetical: asc}`),
			[]string{`images.policies[0]: a policy sets one order: semver or channel, alphabetical, numerical (found several)`}},
		{"bad order", policy(`{name: a, image: r/a, numerical: up}`), []string{`images.policies[0].numerical: want asc or desc, found "up"`}},
		{"image with a tag", policy(`{name: a, image: "r/a:1.0", semver: "*"}`), []string{`steward.yaml:8:24: images.policies[0].image: "r/a:1.0" is not an image repository`}},
		{"no image", policy(`{name: a, semver: "*"}`), []string{`images.policies[0].image: policy has no image`}},
		{"bad digest", policy(`{name: a, image: r/a, semver: "*", digest: always}`), []string{`images.policies[0].digest: want pin, found "always"`}},
		{"bad minAge", policy(`{name: a, image: r/a, semver: "*", minAge: 1 day}`), []string{`images.policies[0].minAge: invalid duration "1 day"`}},
		{"negative minAge", policy(`{name: a, image: r/a, semver: "*", minAge: -1h}`), []string{`steward.yaml:8:50: images.policies[0].minAge: duration "-1h" is negative`}},
		{"empty filter", policy(`{name: a, image: r/a, semver: "*", filter: {}}`), []string{`images.policies[0].filter.pattern: filter needs a pattern`}},
		{"unknown policy field", policy(`{name: a, image: r/a, semvar: "*"}`), []string{`steward.yaml:8:29: images.policies[0].semvar: unknown field`}},
		{"duplicate policy", imagesHeader + "  policies:\n    - {name: a, image: r/a, semver: '*'}\n    - {name: a, image: r/b, semver: '*'}\n",
			[]string{`steward.yaml:9:14: images.policies[1].name: duplicate policy name "a" (first at images.policies[0])`}},
		{"bad policy name", policy(`{name: App_1, image: r/a, semver: "*"}`), []string{`images.policies[0].name: "App_1" is not a valid policy name`}},
		{"interval and schedule", imagesHeader + "  interval: 5m\n  schedule: '* * * * *'\n  policies: []\n", []string{"images.schedule: set interval or schedule, not both"}},
		{"bad schedule", imagesHeader + "  schedule: 'every minute'\n  policies: []\n", []string{"steward.yaml:7:13: images.schedule: expected exactly 5 fields"}},
		{"bad insecure registry", imagesHeader + "  insecureRegistries: ['http://localhost:5000/x']\n  policies: []\n", []string{`images.insecureRegistries[0]: want host or host:port`}},
		{"bad message template", imagesHeader + "  policies: []\n  update: {message: '{{.Changes'}\n", []string{"steward.yaml:8:21: images.update.message: bad template"}},
		{"pull request without push branch", imagesHeader + "  policies: []\n  update: {branch: main, pullRequest: {provider: github, repo: o/r}}\n",
			[]string{"images.update.pushBranch: a pull request needs a pushBranch other than branch"}},
		{"unknown provider", imagesHeader + "  policies: []\n  update: {pushBranch: x, pullRequest: {provider: bitbucket, repo: o/r}}\n",
			[]string{`images.update.pullRequest.provider: want github, gitlab or gitea, found "bitbucket"`}},
		{"author without email", imagesHeader + "  policies: []\n  update: {author: {name: x}}\n", []string{"images.update.author: author needs name and email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseStack([]byte(tt.yaml), "steward.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Fatalf("error\n%s\ndoes not contain\n%s", msg, w)
				}
			}
		})
	}
}
