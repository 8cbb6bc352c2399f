package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// packageOf returns the files of a package called name with the given
// generator, parameter schema and extra files.
func packageOf(name, generator string, files map[string]string) map[string]string {
	out := map[string]string{
		"steward-package.yaml": "apiVersion: steward.dev/v1\nkind: Package\nname: " + name + "\ngenerator: " + generator + `
parameters:
  type: object
  properties:
    replicas: {type: integer, default: 1}
    colour: {type: string}
  required: [colour]
targetKinds: [kubernetes]
`,
		"examples/basic/params.yaml": "replicas: 3\ncolour: teal\n",
	}
	for k, v := range files {
		out[k] = v
	}
	return out
}

// Parameters reach each generator in its idiom: helm values, jsonnet
// top-level arguments, the generated kustomize component, the command's
// environment.
func TestPackageParamsReachEachGenerator(t *testing.T) {
	deploy := func(replicas, colour string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: " + replicas + "\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web, colour: " + colour + "}}\n    spec: {containers: [{name: web, image: nginx}]}\n"
	}
	for name, files := range map[string]map[string]string{
		"helm": packageOf("web-helm", "{helm: {chart: chart}}", map[string]string{
			"chart/Chart.yaml":                "apiVersion: v2\nname: web\nversion: 0.1.0\n",
			"chart/templates/deployment.yaml": deploy("{{ .Values.replicas }}", "{{ .Values.colour }}"),
		}),
		"jsonnet": packageOf("web-jsonnet", "{jsonnet: {file: main.jsonnet}}", map[string]string{
			"main.jsonnet": `function(replicas, colour) {apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'web', namespace: 'shop'}, spec: {replicas: replicas, selector: {matchLabels: {app: 'web'}}, template: {metadata: {labels: {app: 'web', colour: colour}}, spec: {containers: [{name: 'web', image: 'nginx'}]}}}}`,
		}),
		"kustomize": packageOf("web-kustomize", "{kustomize: {}}", map[string]string{
			"deployment.yaml": deploy("1", "none"),
			"kustomization.yaml": `resources: [deployment.yaml]
components: [steward-params]
replacements:
  - source: {kind: Parameters, name: steward-params, fieldPath: spec.replicas}
    targets: [{select: {kind: Deployment}, fieldPaths: [spec.replicas]}]
  - source: {kind: Parameters, name: steward-params, fieldPath: spec.colour}
    targets: [{select: {kind: Deployment}, fieldPaths: [spec.template.metadata.labels.colour]}]
`,
		}),
		"command": packageOf("web-command", `{command: {run: ["sh", "gen.sh"]}}`, map[string]string{
			"gen.sh": "#!/bin/sh\nprintf '" + strings.ReplaceAll(deploy("%s", "%s"), "\n", `\n`) + "' \"$STEWARD_PARAM_REPLICAS\" \"$STEWARD_PARAM_COLOUR\"\n",
		}),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, files)
			code, out, errOut := run(t, "package", "test", dir, "--update")
			if code != 0 {
				t.Fatalf("package test --update: exit %d\n%s%s", code, out, errOut)
			}
			got, err := os.ReadFile(filepath.Join(dir, "examples/basic/expected/apps_Deployment_shop_web.yaml"))
			if err != nil || !strings.Contains(string(got), "replicas: 3") || !strings.Contains(string(got), "colour: teal") {
				t.Fatalf("rendered:\n%s(%v)", got, err)
			}
			if strings.Contains(string(got), "Parameters") {
				t.Fatalf("the parameters object reached the output:\n%s", got)
			}
			if code, out, errOut := run(t, "package", "test", dir); code != 0 || !strings.Contains(out, "ok    basic (1 objects)") {
				t.Fatalf("package test: exit %d\n%s%s", code, out, errOut)
			}
		})
	}
}

// package test fails an example whose output differs from expected/,
// one whose parameters fail the schema, and one the package's checks
// refuse.
func TestPackageTestFailures(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, packageOf("web", `{command: {run: ["sh", "gen.sh"]}}`, map[string]string{
		"gen.sh":                        "#!/bin/sh\necho \"{apiVersion: v1, kind: ConfigMap, metadata: {name: web, namespace: shop}, data: {colour: $STEWARD_PARAM_COLOUR}}\"\n",
		"examples/bad/params.yaml":      "replicas: many\n",
		"examples/red/params.yaml":      "colour: red\n",
		"examples/basic/params.yaml":    "colour: teal\n",
		"examples/basic/expected/.keep": "",
	}))
	writeTree(t, dir, map[string]string{"steward-package.yaml": strings.Replace(packageOf("web", `{command: {run: ["sh", "gen.sh"]}}`, nil)["steward-package.yaml"],
		"targetKinds:", "checks:\n  - {name: not-red, match: {kind: ConfigMap}, cel: \"object.data.colour != 'red'\"}\ntargetKinds:", 1)})
	writeTree(t, dir, map[string]string{"examples/basic/expected/ConfigMap_shop_web.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: shop\ndata:\n  colour: blue\n"})
	code, out, errOut := run(t, "package", "test", dir)
	for _, want := range []string{
		"FAIL  bad\n  examples/bad/params.yaml: /: missing property 'colour' (schema /required)",
		"examples/bad/params.yaml: /replicas: got string, want integer (schema /properties/replicas/type)",
		"FAIL  basic\n", "-  colour: blue", "+  colour: teal",
		"FAIL  red\n", "package web: not-red",
		"3 of 3 examples failed",
	} {
		if code != 1 || !strings.Contains(out, want) {
			t.Fatalf("package test: exit %d, want 1 and %q\n%s%s", code, want, out, errOut)
		}
	}
	if code, out, errOut := run(t, "package", "test", t.TempDir()); code != 1 || !strings.Contains(errOut, "steward-package.yaml: not found") {
		t.Fatalf("package test of no package: exit %d\n%s%s", code, out, errOut)
	}
}

// The example package in the repository passes its own test.
func TestExamplePackage(t *testing.T) {
	code, out, errOut := run(t, "package", "test", filepath.Join("..", "..", "examples", "packages", "greeter"))
	if code != 0 || !strings.Contains(out, "ok    basic (1 objects)") {
		t.Fatalf("package test: exit %d\n%s%s", code, out, errOut)
	}
}
