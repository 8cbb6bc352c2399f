package checks

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

func TestRules(t *testing.T) {
	limits := "object.spec.template.spec.containers.all(c, has(c.resources.limits))"
	tests := []struct {
		name  string
		rules []reconcile.Check
		opts  Options
		want  []string
	}{
		{name: "pass", rules: []reconcile.Check{
			{Name: "named", CEL: `object.metadata.name.matches("^[a-z-]+$")`},
		}},
		{name: "false with message", rules: []reconcile.Check{
			{Name: "limits", Match: reconcile.Match{Kind: "Deployment"}, CEL: limits, Message: "every container needs resource limits"},
		}, want: []string{
			"unit rules: apps/Deployment/shop/unlimited: rule limits: every container needs resource limits",
		}},
		{name: "false without message", rules: []reconcile.Check{
			{Name: "no-latest", Match: reconcile.Match{APIVersion: "apps/*", Name: "*limited"},
				CEL: `!object.spec.template.spec.containers.exists(c, c.image.endsWith(":latest"))`},
		}, want: []string{
			"unit rules: apps/Deployment/shop/unlimited: rule no-latest: expression returned false",
		}},
		{name: "evaluation error", rules: []reconcile.Check{
			{Name: "replicas", Match: reconcile.Match{Kind: "Deployment"}, CEL: "object.spec.replicas > 1"},
		}, want: []string{
			"unit rules: apps/Deployment/shop/limited: rule replicas: evaluation error: no such key: replicas",
			"unit rules: apps/Deployment/shop/unlimited: rule replicas: evaluation error: no such key: replicas",
		}},
		{name: "non-bool result", rules: []reconcile.Check{
			{Name: "dyn", Match: reconcile.Match{Kind: "ConfigMap"}, CEL: "object.data.a"},
		}, want: []string{
			"unit rules: ConfigMap/kube-system/settings: rule dyn: expression returned string, not bool",
		}},
		{name: "namespace glob and optional field", rules: []reconcile.Check{
			{Name: "system", Match: reconcile.Match{Namespace: "kube-*"}, CEL: `object.?metadata.labels.orValue({}).size() > 0`, Message: "system objects need labels"},
		}, want: []string{
			"unit rules: ConfigMap/kube-system/settings: rule system: system objects need labels",
		}},
		{name: "units filter excludes", rules: []reconcile.Check{
			{Name: "other-unit", Match: reconcile.Match{Units: []string{"other"}}, CEL: "false"},
		}},
		{name: "units filter includes", rules: []reconcile.Check{
			{Name: "this-unit", Match: reconcile.Match{Units: []string{"rules"}, Kind: "ConfigMap"}, CEL: "false"},
		}, want: []string{
			"unit rules: ConfigMap/kube-system/settings: rule this-unit: expression returned false",
		}},
		{name: "extension libraries", rules: []reconcile.Check{
			{Name: "ext", Match: reconcile.Match{Kind: "Deployment"},
				CEL: `sets.contains(["a", "b"], object.spec.template.spec.containers.map(c, c.name)) && object.metadata.name.lowerAscii().indexOf("limited") >= 0`},
		}},
		{name: "cost limit", rules: []reconcile.Check{
			{Name: "expensive", Match: reconcile.Match{Kind: "ConfigMap"},
				CEL: `lists.range(200).all(i, lists.range(200).all(j, i + j >= 0))`},
		}, opts: Options{CostLimit: 10_000}, want: []string{
			"unit rules: ConfigMap/kube-system/settings: rule expensive: evaluation error: operation cancelled: actual cost limit exceeded",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := run(t, tt.rules, tt.opts, "rules.yaml")
			diffLines(t, "failures", failureStrings(rep), tt.want)
		})
	}
}

func TestNewRejectsBadRules(t *testing.T) {
	tests := []struct {
		name  string
		check reconcile.Check
		want  string
	}{
		{"syntax", reconcile.Check{Name: "broken", CEL: "object.metadata.name =="}, "checks[1].cel (rule broken): compile: ERROR: <input>:1:24: Syntax error"},
		{"undeclared", reconcile.Check{Name: "undeclared", CEL: "obj.kind == 'x'"}, "checks[1].cel (rule undeclared): compile: ERROR: <input>:1:1: undeclared reference to 'obj'"},
		{"not bool", reconcile.Check{Name: "int", CEL: "1 + 2"}, "checks[1].cel (rule int): expression returns int, not bool"},
		{"bad glob", reconcile.Check{Name: "glob", Match: reconcile.Match{Kind: "[Dep"}, CEL: "true"}, `checks[1].match.kind (rule glob): bad glob "[Dep": syntax error in pattern`},
		{"reserved name", reconcile.Check{Name: "schema", CEL: "true"}, `checks[1].name (rule schema): "schema" is reserved for the built-in checks`},
		{"no name", reconcile.Check{CEL: "true"}, "checks[1].name: check has no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := []reconcile.Check{{Name: "fine", CEL: "true"}, tt.check}
			_, err := New(rules, Options{})
			if err == nil {
				t.Fatal("New accepted a bad rule")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error:\n got %q\nwant prefix %q", err, tt.want)
			}
			var re *RuleError
			if !errors.As(err, &re) || !strings.HasPrefix(re.Field, "checks[1].") {
				t.Errorf("error %v is not a *RuleError for checks[1]", err)
			}
		})
	}
}

// TestNewReportsEveryBadRule: all bad rules are reported at once.
func TestNewReportsEveryBadRule(t *testing.T) {
	_, err := New([]reconcile.Check{
		{Name: "a", CEL: "(("}, {Name: "ok", CEL: "true"}, {Name: "b", CEL: "1"},
	}, Options{})
	if err == nil {
		t.Fatal("New accepted bad rules")
	}
	for _, want := range []string{"checks[0].cel (rule a)", "checks[2].cel (rule b)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestCheckCancelled(t *testing.T) {
	c, err := New([]reconcile.Check{{Name: "r", CEL: "true"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := c.Check(ctx, load(t, "rules.yaml"))
	if !errors.Is(err, context.Canceled) || rep != nil {
		t.Fatalf("Check on a cancelled context = %v, %v; want nil, context.Canceled", rep, err)
	}
}
