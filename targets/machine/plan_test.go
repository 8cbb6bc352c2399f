package machine_test

import (
	"context"
	"fmt"
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
)

// planScene sets up a host with drift and returns the objects to plan.
func planScene(t *testing.T, r *rig) []*reconcile.Object {
	t.Helper()
	base := []*reconcile.Object{
		fileObj(t, "motd", "/etc/motd", "welcome\nto\nthe host\n", "0644"),
		fileObj(t, "old", "/etc/old.conf", "old\n", ""),
		obj(t, hdr+"kind: Directory\nmetadata: {name: data}\nspec: {path: /srv/data, mode: \"0755\"}"),
		obj(t, hdr+"kind: Package\nmetadata: {name: nginx}"),
	}
	r.sync(request("u", "r1", true, base...))
	r.shims.calls(t)
	return []*reconcile.Object{
		fileObj(t, "motd", "/etc/motd", "welcome\nto\nthis host\n", "0600"),
		obj(t, hdr+"kind: File\nmetadata: {name: secret}\nspec: {path: /etc/secret, content: \"hunter2\\n\", sensitive: true}"),
		obj(t, hdr+"kind: Directory\nmetadata: {name: data}\nspec: {path: /srv/data, mode: \"0700\"}"),
		obj(t, hdr+"kind: Package\nmetadata: {name: nginx}"),
		obj(t, hdr+"kind: Package\nmetadata: {name: jq}"),
		obj(t, hdr+"kind: Command\nmetadata: {name: reload}\nspec: {run: [\"true\"], watches: [File/motd]}"),
		obj(t, hdr+"kind: Command\nmetadata: {name: init}\nspec: {run: [sh, -c, 'mkdir -p \"$R/var/lib/db\" && touch \"$R/var/lib/db/.initialised\"'], env: {R: "+quote(r.root(h1))+"}, creates: /var/lib/db/.initialised}"),
	}
}

// TestPlanIsHarmless checks that planning changes nothing: the whole root
// tree (paths, modes, owners, sizes, times, contents) has the same checksum
// before and after, and the package shims saw only queries. The same is
// checked on a real host in package ssh (TestRealPlanIsHarmless).
func TestPlanIsHarmless(t *testing.T) {
	r := newRig(t)
	objs := planScene(t, r)
	r.write(h1, "etc/motd", "drifted\n", 0o666)
	before := treeSum(t, r.root(h1))
	shimBefore := treeSum(t, r.shims.state)
	p := r.plan(request("u", "r2", true, objs...))
	if !p.HasChanges() {
		t.Fatal("plan has no changes; the test proves nothing")
	}
	if after := treeSum(t, r.root(h1)); after != before {
		t.Fatal("plan changed the host tree")
	}
	if after := treeSum(t, r.shims.state); after != shimBefore {
		t.Fatal("plan changed package state")
	}
	for _, c := range r.shims.calls(t) {
		if !strings.HasPrefix(c, "rpm -q ") {
			t.Errorf("plan ran a changing command: %s", c)
		}
	}
}

// TestPlanDiffGolden renders a plan the way `steward diff --live` shows
// it: per host, per object, with unified diffs, mode changes, restarts and
// installs. Secrets marked sensitive stay hidden.
func TestPlanDiffGolden(t *testing.T) {
	r := newRig(t)
	objs := planScene(t, r)
	p := r.plan(request("u", "r2", true, objs...))
	var b strings.Builder
	for _, c := range p.Changes {
		fmt.Fprintf(&b, "== %s %s %s", c.Host, machine.ObjName(c.Object), c.Action)
		if c.Message != "" {
			fmt.Fprintf(&b, " (%s)", c.Message)
		}
		b.WriteString("\n" + c.Diff)
	}
	out := b.String()
	if strings.Contains(out, "hunter2") {
		t.Fatal("sensitive content in the diff")
	}
	golden(t, "plan_diff.golden", out)
	// Apply executes exactly the plan; a second plan is empty.
	cs, err := r.target.Apply(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Failed()) > 0 {
		t.Fatalf("apply failed: %+v", cs.Failed())
	}
	if p2 := r.plan(request("u", "r2", true, objs...)); p2.HasChanges() {
		t.Fatalf("second plan not empty: %+v", p2.Changes)
	}
}

// The target is an ObjectReader: the engine hands it the generation's own
// objects, so neither Plan nor Apply may change them, with templates,
// inputs, sensitive content, commands and a rollback's inventory at play.
func TestPlanAndApplyLeaveObjectsAsGiven(t *testing.T) {
	r := newRig(t)
	objs := planScene(t, r)
	objs = append(objs, obj(t, hdr+"kind: File\nmetadata: {name: tmpl}\nspec: {path: /etc/hostinfo, template: true, content: \"{{.Host}} {{.Inputs.db}}\\n\"}"))
	given := make([]*reconcile.Object, len(objs))
	for i, o := range objs {
		given[i] = o.DeepCopy()
	}
	req := request("u", "r2", true, objs...)
	req.Inputs = reconcile.Inputs{"db": {Value: "10.0.0.5"}}
	r.sync(req)
	r.sync(req) // in sync: the drift pass's path
	for i, o := range objs {
		if !reflect.DeepEqual(o.Object, given[i].Object) {
			t.Errorf("%s changed:\n%v\nwas\n%v", reconcile.IDOf(o), o.Object, given[i].Object)
		}
	}
}

// plainTransport hides the optional abilities of the transport it wraps
// (FileMatcher, FileSumReader), as a transport without them is planned.
type plainTransport struct{ machine.Transport }

// TestPlanSeesInventoryChanges: the target keeps the inventories it
// decoded, yet every plan sees the inventory file as it is, through a
// transport that reads it (SSH) and one that may skip reading it (local).
func TestPlanSeesInventoryChanges(t *testing.T) {
	for _, plain := range []bool{true, false} {
		t.Run(fmt.Sprintf("plain=%v", plain), func(t *testing.T) {
			r := newRig(t)
			if plain {
				r.wrap = func(_ string, tr machine.Transport) machine.Transport { return plainTransport{tr} }
				r.build()
			}
			req := request("app", "r1", true, obj(t, "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, content: hi}"))
			r.sync(req)
			wantActions(t, r.sync(req).Changes, "h1 machine.steward.dev/File/motd unchanged")
			p := path.Join(machine.InventoryDir, "app.json")
			orig := r.file("h1", p)
			r.write("h1", p, strings.Replace(orig, `"unit": "app",`, `"unit": "app", "stack": "another",`, 1), 0o600)
			if _, err := r.target.Plan(context.Background(), req); err == nil || !strings.Contains(err.Error(), `belongs to stack "another"`) {
				t.Fatalf("after the inventory was given to another stack: plan error %v, want it refused", err)
			}
			// Steward's own record of having created the file is lost:
			// the plan takes what the file says now, and prunes nothing.
			r.write("h1", p, strings.Replace(orig, `"created": true`, `"created": false`, 1), 0o600)
			r.sync(request("app", "r2", true))
			if !r.exists("h1", "/etc/motd") {
				t.Fatal("a file the inventory no longer says steward created was pruned")
			}
		})
	}
}
