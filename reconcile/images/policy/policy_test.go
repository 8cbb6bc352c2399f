package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRank(t *testing.T) {
	semverTags := []string{"latest", "1.0.0", "v1.2.0", "1.2.1", "1.3.0-rc.1", "1.3.0-beta.2", "1.3.0-alpha.1", "2.0.0", "2.1.0-rc.1", "1.10.0", "main-abc"}
	tests := []struct {
		name string
		spec Spec
		tags []string
		want []string
	}{
		{"semver range excludes pre-releases", Spec{Semver: ">=1.0.0 <2"}, semverTags,
			[]string{"1.10.0", "1.2.1", "v1.2.0", "1.0.0"}},
		{"semver range that asks for pre-releases", Spec{Semver: ">=1.3.0-0 <2"}, semverTags,
			[]string{"1.10.0", "1.3.0-rc.1", "1.3.0-beta.2", "1.3.0-alpha.1"}},
		{"semver any", Spec{Semver: "*"}, semverTags,
			[]string{"2.0.0", "1.10.0", "1.2.1", "v1.2.0", "1.0.0"}},
		{"channel stable", Spec{Channel: "stable"}, semverTags,
			[]string{"2.0.0", "1.10.0", "1.2.1", "v1.2.0", "1.0.0"}},
		{"channel candidate", Spec{Channel: "candidate"}, semverTags,
			[]string{"2.1.0-rc.1", "2.0.0", "1.10.0", "1.3.0-rc.1", "1.2.1", "v1.2.0", "1.0.0"}},
		{"channel beta", Spec{Channel: "beta"}, semverTags,
			[]string{"2.1.0-rc.1", "2.0.0", "1.10.0", "1.3.0-rc.1", "1.3.0-beta.2", "1.2.1", "v1.2.0", "1.0.0"}},
		{"channel edge", Spec{Channel: "edge"}, semverTags,
			[]string{"2.1.0-rc.1", "2.0.0", "1.10.0", "1.3.0-rc.1", "1.3.0-beta.2", "1.3.0-alpha.1", "1.2.1", "v1.2.0", "1.0.0"}},
		{"channel with a range on the release", Spec{Channel: "candidate", Semver: "<2"}, semverTags,
			[]string{"1.10.0", "1.3.0-rc.1", "1.2.1", "v1.2.0", "1.0.0"}},
		{"equal versions tie-break on the tag", Spec{Semver: "1.2"}, []string{"1.2.0", "v1.2.0", "1.2"},
			[]string{"v1.2.0", "1.2.0", "1.2"}},
		{"alphabetical asc: greatest first", Spec{Alphabetical: "asc"}, []string{"b", "a", "c", "B"},
			[]string{"c", "b", "a", "B"}},
		{"alphabetical desc: least first", Spec{Alphabetical: "desc"}, []string{"b", "a", "c"},
			[]string{"a", "b", "c"}},
		{"numerical asc skips non-numbers", Spec{Numerical: "asc"}, []string{"9", "10", "1.5", "latest", "NaN", "-3"},
			[]string{"10", "9", "1.5", "-3"}},
		{"numerical desc", Spec{Numerical: "desc"}, []string{"9", "10", "1.5"},
			[]string{"1.5", "9", "10"}},
		{"filter and extract, numerical", Spec{Numerical: "asc", FilterPattern: `^main-[a-f0-9]+-(?P<ts>[0-9]+)$`, FilterExtract: "$ts"},
			[]string{"main-abc-100", "main-def-99", "main-0a1-1000", "pr-1-2000", "main-abc"},
			[]string{"main-0a1-1000", "main-abc-100", "main-def-99"}},
		{"filter and extract ${name}, semver", Spec{Semver: ">=1", FilterPattern: `^app-(?P<v>.*)$`, FilterExtract: "${v}"},
			[]string{"app-1.0.0", "app-2.0.0", "2.5.0", "app-x"},
			[]string{"app-2.0.0", "app-1.0.0"}},
		{"filter without extract ranks the tag", Spec{Alphabetical: "asc", FilterPattern: `^release-`},
			[]string{"release-a", "release-b", "zzz"},
			[]string{"release-b", "release-a"}},
		{"extract by number", Spec{Numerical: "asc", FilterPattern: `^b([0-9]+)$`, FilterExtract: "$1"},
			[]string{"b7", "b12", "x"}, []string{"b12", "b7"}},
		{"no tag matches", Spec{Semver: ">=3"}, semverTags, []string{}},
		{"empty list", Spec{Channel: "edge"}, nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			got := p.Rank(tt.tags)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Rank = %q\nwant   %q", got, tt.want)
			}
			latest, ok := p.Latest(tt.tags)
			if ok != (len(tt.want) > 0) || (ok && latest != tt.want[0]) {
				t.Fatalf("Latest = %q, %v", latest, ok)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		field string
		msg   string
	}{
		{"no order", Spec{}, "", "sets one order"},
		{"two orders", Spec{Semver: "1", Numerical: "asc"}, "", "found several"},
		{"bad range", Spec{Semver: ">=x.y"}, "semver", "bad range"},
		{"unknown channel", Spec{Channel: "nightly"}, "channel", `unknown channel "nightly"`},
		{"bad order", Spec{Alphabetical: "up"}, "alphabetical", "want asc or desc"},
		{"bad regex", Spec{Numerical: "asc", FilterPattern: "(["}, "filter.pattern", "bad regular expression"},
		{"extract without pattern", Spec{Numerical: "asc", FilterExtract: "$1"}, "filter.pattern", "needs a pattern"},
		{"extract names an unknown group", Spec{Numerical: "asc", FilterPattern: `^(?P<ts>\d+)$`, FilterExtract: "$tss"}, "filter.extract", `names no group "tss"`},
		{"extract names no group", Spec{Numerical: "asc", FilterPattern: `^(?P<ts>\d+)$`, FilterExtract: "ts"}, "filter.extract", "names no group of the pattern"},
		{"extract group number too big", Spec{Numerical: "asc", FilterPattern: `^(\d+)$`, FilterExtract: "$2"}, "filter.extract", "names group 2"},
		{"extract dollar literal only", Spec{Numerical: "asc", FilterPattern: `^(\d+)$`, FilterExtract: "$$"}, "filter.extract", "names no group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.spec)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if pe.Field != tt.field || !strings.Contains(pe.Msg, tt.msg) {
				t.Fatalf("err = %q (field %q), want field %q and %q", pe.Msg, pe.Field, tt.field, tt.msg)
			}
		})
	}
}

func TestRiskOf(t *testing.T) {
	for pre, want := range map[string]Channel{
		"": Stable, "rc": Candidate, "rc.1": Candidate, "RC2": Candidate, "beta": Beta, "beta.3": Beta,
		"alpha.1": Edge, "dev": Edge, "1": Edge, "rcx": Edge, "nightly.20240101": Edge,
	} {
		if got := RiskOf(pre); got != want {
			t.Errorf("RiskOf(%q) = %s, want %s", pre, got, want)
		}
	}
	if !Beta.Admits("rc.1") || Candidate.Admits("beta.1") || Stable.Admits("rc.1") || !Edge.Admits("alpha") {
		t.Fatal("Admits disagrees with the risk order")
	}
	for _, c := range []Channel{Stable, Candidate, Beta, Edge} {
		if got, err := ParseChannel(c.String()); err != nil || got != c {
			t.Fatalf("ParseChannel(%s) = %v, %v", c, got, err)
		}
	}
}

func FuzzRank(f *testing.F) {
	f.Add(`^(?P<v>.*)$`, "$v", "1.2.3,v2,2.0.0-rc.1,x")
	f.Fuzz(func(t *testing.T, pattern, extract, tags string) {
		for _, spec := range []Spec{
			{Channel: "edge", FilterPattern: pattern, FilterExtract: extract},
			{Numerical: "asc", FilterPattern: pattern, FilterExtract: extract},
			{Alphabetical: "desc", FilterPattern: pattern, FilterExtract: extract},
		} {
			p, err := Compile(spec)
			if err != nil {
				continue
			}
			list := strings.Split(tags, ",")
			got := p.Rank(list)
			for _, tag := range got {
				if !slices.Contains(list, tag) {
					t.Fatalf("Rank returned %q, not in the list", tag)
				}
			}
			if again := p.Rank(reversed(list)); !slices.Equal(again, got) {
				t.Fatalf("Rank depends on the input order: %q vs %q", got, again)
			}
		}
	})
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}
