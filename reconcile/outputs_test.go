package reconcile

import (
	"errors"
	"strings"
	"testing"
)

const outputsStack = `apiVersion: steward.dev/v1
kind: Stack
targets:
  kube: {kubernetes: {namespace: shop}}
  db-hosts: {machines: {hosts: [db1:22]}}
units:
  - name: db
    path: db
    generator: {yaml: {}}
    target: db-hosts
    outputs:
      address: {fact: address, example: 10.0.0.5}
      version: {probe: [cat, /etc/debian_version], timeout: 5s}
  - name: svc
    path: svc
    generator: {yaml: {}}
    target: kube
    dependsOn: [db]
    outputs:
      ip: {jsonPath: {object: Service/db, path: .spec.clusterIP}}
      password: {random: {length: 32}}
      token: {jsonPath: {object: Secret/creds, path: '{.data.token}'}}
  - name: app
    path: app
    generator: {helm: {chart: .}}
    target: kube
    dependsOn: [svc]
    inputs: {dbHost: db.address, ip: svc.ip}
`

func TestOutputsStackValid(t *testing.T) {
	s, err := ParseStack([]byte(outputsStack), "steward.yaml")
	if err != nil {
		t.Fatal(err)
	}
	app := s.Unit("app")
	if got := app.Inputs["dbHost"]; got != "db.address" {
		t.Errorf("inputs.dbHost = %q", got)
	}
	svc := s.Unit("svc")
	if !svc.Outputs["password"].IsSensitive() || !svc.Outputs["token"].IsSensitive() || svc.Outputs["ip"].IsSensitive() {
		t.Errorf("sensitivity: password %v token %v ip %v", svc.Outputs["password"].IsSensitive(), svc.Outputs["token"].IsSensitive(), svc.Outputs["ip"].IsSensitive())
	}
	if ex := s.Unit("db").Outputs["address"].Example; ex == nil || *ex != "10.0.0.5" {
		t.Errorf("example = %v", ex)
	}
}

func TestOutputsStackInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"not a dependency", "dependsOn: [svc]\n    inputs: {dbHost: db.address, ip: svc.ip}", "inputs: {ip: svc.ip}",
			"steward.yaml:27:18: units[2].inputs.ip: svc is not a dependency of app: add svc to dependsOn"},
		{"unknown output", "inputs: {dbHost: db.address, ip: svc.ip}", "inputs: {dbHost: db.port}",
			`units[2].inputs.dbHost: unit db has no output "port" (outputs: address, version)`},
		{"unknown unit", "inputs: {dbHost: db.address, ip: svc.ip}", "inputs: {dbHost: cache.address}",
			`units[2].inputs.dbHost: names no unit "cache"`},
		{"malformed ref", "inputs: {dbHost: db.address, ip: svc.ip}", "inputs: {dbHost: db}",
			`units[2].inputs.dbHost: want unit.output, found "db"`},
		{"own output", "    dependsOn: [db]\n    outputs:", "    inputs: {me: svc.ip}\n    dependsOn: [db]\n    outputs:",
			"units[1].inputs.me: input cycle: unit svc consumes its own output svc.ip"},
		{"two sources", "address: {fact: address, example: 10.0.0.5}", "address: {fact: address, value: x}",
			"units[0].outputs.address: an output sets exactly one of fact, probe, jsonPath, value, random (found 2)"},
		{"fact on kubernetes", "ip: {jsonPath: {object: Service/db, path: .spec.clusterIP}}", "ip: {fact: address}",
			"units[1].outputs.ip: fact outputs need a machines or local target; kube is kubernetes"},
		{"jsonPath on machines", "address: {fact: address, example: 10.0.0.5}", "address: {jsonPath: {object: Service/db, path: .spec}}",
			"units[0].outputs.address: jsonPath outputs need a kubernetes target"},
		{"bad object", "object: Service/db,", "object: db,",
			`units[1].outputs.ip.jsonPath.object: want Kind/name or group/Kind/name, found "db"`},
		{"bad path", "path: .spec.clusterIP}", "path: '{.spec[}'}", "units[1].outputs.ip.jsonPath.path: jsonPath"},
		{"short random", "length: 32", "length: 4", "units[1].outputs.password.random.length: want 8 to 4096, found 4"},
		{"bad name", "password: {random", "pass-word: {random", `"pass-word" is not a valid output name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(outputsStack, tc.from, tc.to, 1)
			if src == outputsStack {
				t.Fatalf("replacement %q not found", tc.from)
			}
			_, err := ParseStack([]byte(src), "steward.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestInputCycleIsDependencyCycle(t *testing.T) {
	src := strings.Replace(outputsStack, "    target: db-hosts\n", "    target: db-hosts\n    dependsOn: [app]\n    inputs: {appIP: svc.ip}\n", 1)
	_, err := ParseStack([]byte(src), "steward.yaml")
	if err == nil || !strings.Contains(err.Error(), "dependency cycle") {
		t.Fatalf("error = %v, want a dependency cycle", err)
	}
}

func TestEvalJSONPath(t *testing.T) {
	obj := map[string]any{"spec": map[string]any{"clusterIP": "10.96.0.7", "ports": []any{map[string]any{"port": int64(5432)}}, "empty": ""}}
	for _, tc := range []struct{ path, want string }{
		{".spec.clusterIP", "10.96.0.7"},
		{"{.spec.ports[0].port}", "5432"},
	} {
		got, err := EvalJSONPath(tc.path, obj)
		if err != nil || got != tc.want {
			t.Errorf("%s = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
	for _, p := range []string{".status.loadBalancer.ingress[0].ip", ".spec.empty", ".spec.nothing"} {
		if _, err := EvalJSONPath(p, obj); !errors.Is(err, ErrNoMatch) {
			t.Errorf("%s: error = %v, want ErrNoMatch", p, err)
		}
	}
}
