package reconcile

// StackAPIVersion and StackKind head every steward.yaml.
const (
	StackAPIVersion = "steward.dev/v1"
	StackKind       = "Stack"
	// StackFile is the stack file's name at the repository root.
	StackFile = "steward.yaml"
)

// Stack is the model of steward.yaml. It holds no credentials: targets name
// credentials that the running steward resolves.
type Stack struct {
	APIVersion string                `yaml:"apiVersion" doc:"Always steward.dev/v1."`
	Kind       string                `yaml:"kind" doc:"Always Stack."`
	Name       string                `yaml:"name,omitempty" doc:"The stack's identity, recorded in every inventory it writes (default: the repository URL and the stack's path in it)."`
	Targets    map[string]TargetSpec `yaml:"targets" doc:"Logical targets by name."`
	Units      []Unit                `yaml:"units" doc:"The units: a path, a generator, a target."`
	Images     *Images               `yaml:"images,omitempty" doc:"Image automation policies."`
	Checks     []Check               `yaml:"checks,omitempty" doc:"CEL rules every generated object must pass."`
	Windows    []Window              `yaml:"windows,omitempty" doc:"Sync windows: when units may be applied."`

	// File is the name errors use for the stack file; not part of the YAML.
	File string `yaml:"-"`
	// pos maps field paths (units[1].target) to their place in File.
	pos map[string]Pos
	// byName indexes Units by name once parsed: the daemon looks every unit
	// up by name on every pass.
	byName map[string]int
	// defaultName is the identity when Name is empty (SetDefaultIdentity).
	defaultName string
	// releases names the wave units of each progressive unit, in order
	// (stack_release.go).
	releases map[string][]string
	// unitAt is the index in the stack file of each of Units, when
	// progressive units were expanded (nil: the same index).
	unitAt []int
}

// TargetSpec is one logical target; exactly one kind is set.
type TargetSpec struct {
	Kubernetes *KubernetesTarget `yaml:"kubernetes,omitempty" doc:"A Kubernetes cluster."`
	Machines   *MachinesTarget   `yaml:"machines,omitempty" doc:"Hosts reached over SSH."`
	Local      *LocalTarget      `yaml:"local,omitempty" doc:"This host; every path under root."`
}

// KubernetesTarget applies to a cluster by server-side apply.
type KubernetesTarget struct {
	Credentials string `yaml:"credentials,omitempty" doc:"Context name in the kubeconfig steward was given; empty means the current context or in-cluster config."`
	Namespace   string `yaml:"namespace,omitempty" doc:"Default namespace for namespaced objects without one."`
}

// MachinesTarget applies machine kinds to hosts over SSH.
type MachinesTarget struct {
	Hosts       []string `yaml:"hosts" doc:"host:port of every machine."`
	User        string   `yaml:"user,omitempty" doc:"SSH user."`
	Credentials string   `yaml:"credentials,omitempty" doc:"Private key file name under steward's credentials directory."`
	Root        string   `yaml:"root,omitempty" doc:"Prefix for every path on the hosts (default /)."`
	Sudo        bool     `yaml:"sudo,omitempty" doc:"Run changes through sudo."`
	Parallel    int      `yaml:"parallel,omitempty" doc:"Hosts worked on at once (default 20)."`
	HostKeys    []string `yaml:"hostKeys,omitempty" doc:"Pinned host key fingerprints (SHA256:...), checked in addition to known_hosts."`
	Rollout     *Rollout `yaml:"rollout,omitempty" doc:"Batching and the failure breaker."`
}

// Rollout applies hosts batch by batch and stops when failures exceed
// MaxFailures.
type Rollout struct {
	Batch       IntOrPercent `yaml:"batch,omitempty" doc:"Hosts per batch: N or \"N%\"."`
	MaxFailures IntOrPercent `yaml:"maxFailures,omitempty" doc:"Failed hosts tolerated before the rollout stops: N or \"N%\"."`
}

// LocalTarget applies machine kinds to this host.
type LocalTarget struct {
	Root string `yaml:"root" doc:"Directory every path is put under, relative to steward's working directory."`
}

// Unit is one entry of the stack: the unit of scheduling, status,
// dependencies and metrics.
type Unit struct {
	Name           string                `yaml:"name" doc:"Unique name."`
	Path           string                `yaml:"path,omitempty" doc:"Directory relative to the repository root (required, except for a package unit)."`
	Generator      GeneratorSpec         `yaml:"generator,omitempty" doc:"How the path becomes objects (required, except for a package unit)."`
	Target         string                `yaml:"target,omitempty" doc:"Name of a target (a progressive unit names targets instead)."`
	Targets        []string              `yaml:"targets,omitempty" doc:"Ordered waves of a progressive release, one target each (instead of target); needs progressive."`
	Progressive    *Progressive          `yaml:"progressive,omitempty" doc:"How a new revision moves through targets: wave by wave, each healthy for soak before the next starts (docs/releases.md)."`
	Namespace      string                `yaml:"namespace,omitempty" doc:"Namespace for namespaced objects without one (and the helm release namespace)."`
	Prune          bool                  `yaml:"prune,omitempty" doc:"Delete what an earlier revision applied and this one no longer has."`
	AllowEmpty     bool                  `yaml:"allowEmpty,omitempty" doc:"Let a revision in which the unit generates no object (or that removes the unit) delete every object it applied; refused by default."`
	PruneLimit     IntOrPercent          `yaml:"pruneLimit,omitempty" doc:"Largest share of the unit's objects one apply may delete, as N% (default 50%); more is refused unless a manual sync allows a mass prune."`
	Force          bool                  `yaml:"force,omitempty" doc:"Recreate objects whose immutable fields changed."`
	Wait           *Wait                 `yaml:"wait,omitempty" doc:"Wait for applied objects to become healthy."`
	Output         string                `yaml:"output,omitempty" doc:"Directory of committed generated output that steward verify compares."`
	DependsOn      []string              `yaml:"dependsOn,omitempty" doc:"Units that must be ready at the same revision first."`
	Health         *Health               `yaml:"health,omitempty" doc:"Health check run after apply on machine targets."`
	ServiceAccount string                `yaml:"serviceAccount,omitempty" doc:"Kubernetes service account (namespace/name) to impersonate."`
	Interval       Duration              `yaml:"interval,omitempty" doc:"Re-apply interval for drift correction."`
	Suspend        bool                  `yaml:"suspend,omitempty" doc:"Do not apply this unit."`
	ExtraPaths     []string              `yaml:"extraPaths,omitempty" doc:"More directories whose files are inputs of the generator (for the generation cache; a command that reads SOPS files gets them, decrypted, in its in-memory work tree)."`
	Updater        *Updater              `yaml:"updater,omitempty" doc:"A program image automation runs in the unit's directory to edit generated configuration for a new tag."`
	Outputs        map[string]OutputSpec `yaml:"outputs,omitempty" doc:"Values recorded after a successful apply, by name (see outputs.go)."`
	Inputs         map[string]string     `yaml:"inputs,omitempty" doc:"Values this unit's generator consumes, by name: unit.output of a unit it depends on."`
	Package        *PackageRef           `yaml:"package,omitempty" doc:"An ops package the unit installs instead of a path and generator (docs/packages.md)."`
	With           map[string]any        `yaml:"with,omitempty" doc:"The package's parameters, validated against its schema."`

	targetNamespace string           // the namespace of its Kubernetes target, set by ParseStack
	wave            *wave            // the release wave this unit is, set by ParseStack (stack_release.go)
	stack           string           // the stack's identity, set by SetDefaultIdentity
	pkg             *ResolvedPackage // the package a package unit generates from, set by UsePackage
}

// EffectiveNamespace is the unit's namespace, else its Kubernetes target's.
func (u *Unit) EffectiveNamespace() string {
	if u.Namespace != "" {
		return u.Namespace
	}
	return u.targetNamespace
}

// GeneratorSpec selects a generator; exactly one is set.
type GeneratorSpec struct {
	YAML      *YAMLGenerator      `yaml:"yaml,omitempty" doc:"Every .yaml, .yml and .json file under the path."`
	Kustomize *KustomizeGenerator `yaml:"kustomize,omitempty" doc:"kustomize build of the path."`
	Helm      *HelmGenerator      `yaml:"helm,omitempty" doc:"helm template of a local chart."`
	Jsonnet   *JsonnetGenerator   `yaml:"jsonnet,omitempty" doc:"Evaluate a jsonnet file."`
	Command   *CommandGenerator   `yaml:"command,omitempty" doc:"Run a command; its stdout is the objects."`
}

// YAMLGenerator reads plain manifests.
type YAMLGenerator struct {
	Recursive *bool `yaml:"recursive,omitempty" doc:"Descend into subdirectories (default true)."`
}

// KustomizeGenerator runs kustomize in-process.
type KustomizeGenerator struct{}

// HelmGenerator renders a local chart like helm template.
type HelmGenerator struct {
	Chart       string         `yaml:"chart,omitempty" doc:"Chart directory relative to the unit path (default .)."`
	Values      []string       `yaml:"values,omitempty" doc:"Values files relative to the unit path, later ones win."`
	Set         map[string]any `yaml:"set,omitempty" doc:"Values set by path (a.b: value), after the files; each value keeps its YAML type and is never split on commas."`
	ReleaseName string         `yaml:"releaseName,omitempty" doc:"Release name (default the unit name)."`
	KubeVersion string         `yaml:"kubeVersion,omitempty" doc:"Kubernetes version the chart sees (default 1.37.0)."`
	APIVersions []string       `yaml:"apiVersions,omitempty" doc:"Extra API versions for .Capabilities."`
	IncludeCRDs *bool          `yaml:"includeCRDs,omitempty" doc:"Render the chart's crds/ too (default true)."`
}

// JsonnetGenerator evaluates a jsonnet file.
type JsonnetGenerator struct {
	File    string            `yaml:"file" doc:"File relative to the unit path."`
	JPath   []string          `yaml:"jpath,omitempty" doc:"Library directories relative to the repository root (vendor and lib are always searched)."`
	ExtVars map[string]string `yaml:"extVars,omitempty" doc:"External string variables."`
	ExtCode map[string]string `yaml:"extCode,omitempty" doc:"External code variables."`
	TLAs    map[string]string `yaml:"tlas,omitempty" doc:"Top-level string arguments."`
	TLACode map[string]string `yaml:"tlaCode,omitempty" doc:"Top-level code arguments."`
}

// CommandGenerator runs a command in the unit's directory.
type CommandGenerator struct {
	Run       []string          `yaml:"run" doc:"argv; the first element is looked up on PATH or relative to the unit path."`
	Timeout   Duration          `yaml:"timeout,omitempty" doc:"Kill the command (and its children) after this long (default 60s)."`
	Env       map[string]string `yaml:"env,omitempty" doc:"Environment; nothing else is inherited except PATH and HOME."`
	Hermetic  bool              `yaml:"hermetic,omitempty" doc:"Output depends only on the files under the path and extraPaths, so it may be cached."`
	MaxOutput int64             `yaml:"maxOutput,omitempty" doc:"Largest stdout accepted, in bytes (default 64 MiB)."`
}

// Updater is a unit's image-update program (Flux v1's .flux.yaml idea): it
// runs in the unit's directory of a work copy with STEWARD_POLICY,
// STEWARD_IMAGE, STEWARD_TAG, STEWARD_DIGEST and STEWARD_UNIT set, the
// command generator's clean environment and its process-group timeout,
// and edits the tree.
type Updater struct {
	Run     []string `yaml:"run" doc:"argv; the first element is looked up on PATH or relative to the unit path."`
	Timeout Duration `yaml:"timeout,omitempty" doc:"Kill the program (and its children) after this long (default 60s)."`
}

// Wait waits for applied objects to become healthy.
type Wait struct {
	Timeout Duration `yaml:"timeout,omitempty" doc:"How long to wait (default 5m)."`
}

// Health checks a machine host after apply.
type Health struct {
	HTTP     *HTTPHealth    `yaml:"http,omitempty" doc:"An HTTP GET from steward."`
	Command  *CommandHealth `yaml:"command,omitempty" doc:"A command on the host."`
	Retries  int            `yaml:"retries,omitempty" doc:"Attempts before the host counts as unhealthy (default 3)."`
	Interval Duration       `yaml:"interval,omitempty" doc:"Pause between attempts (default 2s)."`
	Timeout  Duration       `yaml:"timeout,omitempty" doc:"Limit of one attempt (default 10s)."`
}

// HTTPHealth is an HTTP health check; {{.Host}} in URL is the host name.
type HTTPHealth struct {
	URL    string `yaml:"url" doc:"URL; {{.Host}} is replaced by the host."`
	Status int    `yaml:"status,omitempty" doc:"Expected status code (default any 2xx)."`
}

// CommandHealth runs a command on the host; exit 0 is healthy.
type CommandHealth struct {
	Run []string `yaml:"run" doc:"argv run on the host."`
}

// Images configures image automation: registries are scanned, each policy
// chooses a tag, and marked fields in the repository are rewritten, verified
// and committed.
type Images struct {
	InsecureRegistries []string      `yaml:"insecureRegistries,omitempty" doc:"Registries (host or host:port) that may be reached over plain HTTP or TLS without verification; no other is."`
	Interval           Duration      `yaml:"interval,omitempty" doc:"How often steward run scans (default 5m)."`
	Schedule           string        `yaml:"schedule,omitempty" doc:"Cron schedule (5 fields) of the scans, instead of interval."`
	Policies           []ImagePolicy `yaml:"policies" doc:"Which tag each image may move to."`
	Update             *ImageUpdate  `yaml:"update,omitempty" doc:"How updates are committed."`
}

// ImagePolicy chooses a tag of one image. It sets one order: semver and/or
// channel, alphabetical, or numerical; filter narrows the tags it sees.
type ImagePolicy struct {
	Name         string     `yaml:"name" doc:"Policy name, used in file markers: # {\"$imagepolicy\": \"NAME\"}."`
	Image        string     `yaml:"image" doc:"Repository of the image, without tag or digest."`
	Semver       string     `yaml:"semver,omitempty" doc:"Semver range of acceptable tags; pre-releases only when the range names one."`
	Channel      string     `yaml:"channel,omitempty" doc:"Risk level over semver pre-releases: stable (none), candidate (-rc), beta (-beta, -rc), edge (any)."`
	Alphabetical string     `yaml:"alphabetical,omitempty" doc:"Order tags as strings: asc (the greatest wins) or desc (the least)."`
	Numerical    string     `yaml:"numerical,omitempty" doc:"Order tags as numbers: asc (the greatest wins) or desc (the least)."`
	Filter       *TagFilter `yaml:"filter,omitempty" doc:"Only tags matching pattern, ranked by what extract makes of them."`
	Digest       string     `yaml:"digest,omitempty" doc:"pin: write tag@sha256:... so a re-pushed tag is noticed."`
	MinAge       Duration   `yaml:"minAge,omitempty" doc:"A tag qualifies only once its image config's created time is this old."`
}

// TagFilter narrows and rewrites tags before a policy orders them, as Flux's
// filterTags does.
type TagFilter struct {
	Pattern string `yaml:"pattern" doc:"Regular expression (Go RE2) a tag must match."`
	Extract string `yaml:"extract,omitempty" doc:"Template over the pattern's groups ($name, ${name}, $1); its expansion is what the order ranks."`
}

// ImageUpdate says how image updates are committed and pushed.
type ImageUpdate struct {
	Branch      string        `yaml:"branch,omitempty" doc:"Branch to start from and fast-forward (default the tracked branch)."`
	PushBranch  string        `yaml:"pushBranch,omitempty" doc:"One automation branch, updated in place, to push to instead of branch."`
	PullRequest *PullRequest  `yaml:"pullRequest,omitempty" doc:"Open (or update) a pull request from pushBranch to branch."`
	Message     string        `yaml:"message,omitempty" doc:"Commit message, a Go text/template over the changes."`
	Author      *CommitAuthor `yaml:"author,omitempty" doc:"Commit author (default steward)."`
	SigningKey  string        `yaml:"signingKey,omitempty" doc:"Name of a signing key (OpenPGP or SSH) under steward's credentials directory; never the key itself."`
}

// PullRequest names the forge and repository of image-update pull
// requests. The token comes from steward's environment.
type PullRequest struct {
	Provider string `yaml:"provider" doc:"github, gitlab or gitea."`
	Repo     string `yaml:"repo" doc:"owner/name, or the GitLab project path."`
	URL      string `yaml:"url,omitempty" doc:"API base URL of a self-hosted forge."`
}

// CommitAuthor is the identity on image-update commits.
type CommitAuthor struct {
	Name  string `yaml:"name" doc:"Author name."`
	Email string `yaml:"email" doc:"Author email."`
}

// Check is a CEL rule over generated objects.
type Check struct {
	Name    string `yaml:"name" doc:"Rule name, shown in failures."`
	Match   Match  `yaml:"match,omitempty" doc:"Objects the rule applies to."`
	CEL     string `yaml:"cel" doc:"CEL expression over object; true passes."`
	Message string `yaml:"message,omitempty" doc:"Failure message."`
}

// Match selects objects by glob patterns; empty fields match everything.
type Match struct {
	APIVersion string   `yaml:"apiVersion,omitempty" doc:"Glob over apiVersion."`
	Kind       string   `yaml:"kind,omitempty" doc:"Glob over kind."`
	Name       string   `yaml:"name,omitempty" doc:"Glob over metadata.name."`
	Namespace  string   `yaml:"namespace,omitempty" doc:"Glob over metadata.namespace."`
	Units      []string `yaml:"units,omitempty" doc:"Only objects of these units."`
}

// Window is a sync window: a cron schedule opening for a duration.
type Window struct {
	Kind       string   `yaml:"kind" doc:"allow or deny."`
	Schedule   string   `yaml:"schedule" doc:"Cron schedule (5 fields) of the window's start."`
	Duration   Duration `yaml:"duration" doc:"How long the window stays open."`
	TimeZone   string   `yaml:"timeZone,omitempty" doc:"IANA time zone of the schedule (default UTC)."`
	Units      []string `yaml:"units,omitempty" doc:"Units it governs (default all)."`
	ManualSync bool     `yaml:"manualSync,omitempty" doc:"Allow a manual sync while the window blocks."`
}

// Unit returns the unit named name, or nil.
func (s *Stack) Unit(name string) *Unit {
	// The index answers when it still describes Units; a miss or a stale
	// entry falls back to the scan.
	if i, ok := s.byName[name]; ok && i < len(s.Units) && s.Units[i].Name == name {
		return &s.Units[i]
	}
	for i := range s.Units {
		if s.Units[i].Name == name {
			return &s.Units[i]
		}
	}
	return nil
}

// Pos returns where a field path (for example "units[1].target") was written.
func (s *Stack) Pos(path string) Pos { return s.pos[path] }
