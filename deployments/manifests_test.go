package deployments

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// manifests is every object in k8s/, decoded strictly by kind.
type manifests struct {
	deployments map[string]*deployment
	services    map[string]*service
	configMaps  map[string]*configMap
	secrets     map[string]*secret
	hpas        []*hpa
	pdbs        []*pdb
	ingresses   []*ingress
	kustom      *kustomization
	files       []string
}

var apiVersions = map[string]string{
	"Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1", "Secret": "v1",
	"HorizontalPodAutoscaler": "autoscaling/v2", "PodDisruptionBudget": "policy/v1",
	"Ingress": "networking.k8s.io/v1", "Kustomization": "kustomize.config.k8s.io/v1beta1",
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{deployments: map[string]*deployment{}, services: map[string]*service{},
		configMaps: map[string]*configMap{}, secrets: map[string]*secret{}}
	files, _ := filepath.Glob("k8s/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in k8s/")
	}
	for _, file := range files {
		m.files = append(m.files, filepath.Base(file))
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docSeparator.Split(string(data), -1) {
			if err := m.add([]byte(doc)); err != nil {
				t.Errorf("%s, document %d: %v", file, i+1, err)
			}
		}
	}
	return m
}

// add decodes one YAML document into the type its kind names, refusing
// fields that type does not have.
func (m *manifests) add(doc []byte) error {
	var head TypeMeta
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	want, known := apiVersions[head.Kind]
	switch {
	case !known:
		return fmt.Errorf("kind %q is not one camrelay uses", head.Kind)
	case head.APIVersion != want:
		return fmt.Errorf("%s: apiVersion %q, want %q", head.Kind, head.APIVersion, want)
	case head.Metadata.Name == "" && head.Kind != "Kustomization":
		return fmt.Errorf("%s without metadata.name", head.Kind)
	}
	var v any
	switch head.Kind {
	case "Deployment":
		d := &deployment{}
		m.deployments[head.Metadata.Name], v = d, d
	case "Service":
		s := &service{}
		m.services[head.Metadata.Name], v = s, s
	case "ConfigMap":
		c := &configMap{}
		m.configMaps[head.Metadata.Name], v = c, c
	case "Secret":
		s := &secret{}
		m.secrets[head.Metadata.Name], v = s, s
	case "HorizontalPodAutoscaler":
		h := &hpa{}
		m.hpas, v = append(m.hpas, h), h
	case "PodDisruptionBudget":
		p := &pdb{}
		m.pdbs, v = append(m.pdbs, p), p
	case "Ingress":
		i := &ingress{}
		m.ingresses, v = append(m.ingresses, i), i
	case "Kustomization":
		m.kustom = &kustomization{}
		v = m.kustom
	}
	return yaml.UnmarshalWithOptions(doc, v, yaml.DisallowUnknownField())
}

func TestK8sManifestsDecodeStrictly(t *testing.T) {
	m := loadManifests(t)
	for _, name := range []string{"camrelay-web", "camrelay-fetcher"} {
		if m.deployments[name] == nil {
			t.Errorf("no Deployment %s", name)
		}
	}
	if m.kustom == nil {
		t.Fatal("no kustomization.yaml")
	}
	// kustomization.yaml applies every manifest but the Secret example.
	var want []string
	for _, f := range m.files {
		if f != "kustomization.yaml" && f != "secret.example.yaml" {
			want = append(want, f)
		}
	}
	got := slices.Sorted(slices.Values(m.kustom.Resources))
	if !slices.Equal(got, want) {
		t.Errorf("kustomization resources %q, want %q", got, want)
	}
}

func TestK8sWorkloads(t *testing.T) {
	m := loadManifests(t)
	settings := programSettings(t)
	for name, d := range m.deployments {
		pod := d.Spec.Template
		if !selects(d.Spec.Selector.MatchLabels, pod.Metadata.Labels) {
			t.Errorf("%s: selector %v does not match its pods' labels %v", name, d.Spec.Selector.MatchLabels, pod.Metadata.Labels)
		}
		if d.Spec.Replicas < 2 {
			t.Errorf("%s: %d replicas; camrelay runs at least two of each", name, d.Spec.Replicas)
		}
		if sc := pod.Spec.SecurityContext; sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == 0 {
			t.Errorf("%s: pods must run as a non-root user", name)
		}
		if len(pod.Spec.Containers) != 1 {
			t.Fatalf("%s: %d containers, want 1", name, len(pod.Spec.Containers))
		}
		c := pod.Spec.Containers[0]
		program := strings.TrimPrefix(name, "camrelay-")
		checkContainer(t, name, c, settings[program])
		checkRefs(t, m, name, c, settings[program])
	}
}

// TestK8sProbesAndCredentials: the web replicas' probes mean what the
// routes mean, and EEN credentials reach the fetchers only, from a Secret.
func TestK8sProbesAndCredentials(t *testing.T) {
	m := loadManifests(t)
	web, fetcher := m.deployments["camrelay-web"], m.deployments["camrelay-fetcher"]
	if web == nil || fetcher == nil || len(web.Spec.Template.Spec.Containers) == 0 || len(fetcher.Spec.Template.Spec.Containers) == 0 {
		t.Fatal("the web and fetcher Deployments are missing")
	}
	wc, fc := web.Spec.Template.Spec.Containers[0], fetcher.Spec.Template.Spec.Containers[0]
	if p := wc.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("web readiness probe must GET /readyz")
	}
	if p := wc.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("web liveness probe must GET /healthz: a Redis outage must not restart replicas")
	}
	// Fetchers: unready (out of a rollout's count) while EEN refuses the
	// login or no camera they lead stores frames; restarting would not help.
	if p := fc.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("fetcher readiness probe must GET /readyz")
	}
	if p := fc.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("fetcher liveness probe must GET /healthz: a wrong password must not restart fetchers")
	}
	for _, e := range wc.Env {
		if strings.HasPrefix(e.Name, "EEN_") {
			t.Errorf("web replicas get %s: EEN credentials belong to the fetchers only", e.Name)
		}
	}
	for _, v := range []string{"EEN_USERNAME", "EEN_PASSWORD"} {
		e := findEnv(fc.Env, v)
		if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("fetcher: %s must come from a Secret (secretKeyRef)", v)
		}
	}
	for _, c := range []container{wc, fc} {
		if e := findEnv(c.Env, "REDIS_URL"); e == nil {
			t.Errorf("%s: no REDIS_URL", c.Name)
		}
	}
}

// checkContainer checks one workload container: image, resources, probes
// on declared ports, hardening, and env names the program knows.
func checkContainer(t *testing.T, name string, c container, known map[string]bool) {
	t.Helper()
	if c.Image == "" {
		t.Errorf("%s: no image", name)
	}
	if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
		t.Errorf("%s: needs cpu and memory requests and a memory limit, got %+v", name, c.Resources)
	}
	for kind, p := range map[string]*probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", name, kind)
			continue
		}
		if !hasPort(c, p.HTTPGet.Port) {
			t.Errorf("%s: %s probe port %v is not a container port", name, kind, p.HTTPGet.Port)
		}
	}
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("%s: container must drop all capabilities, forbid privilege escalation, read-only root", name)
	}
	for _, e := range c.Env {
		if !known[e.Name] {
			t.Errorf("%s: %s is not a setting of the program", name, e.Name)
		}
		if strings.HasPrefix(e.Name, "EEN_") && e.Name != "EEN_BASE_URL" && e.Value != "" {
			t.Errorf("%s: %s has a literal value; credentials come from a Secret", name, e.Name)
		}
	}
}

// checkRefs checks that every ConfigMap and Secret a container reads
// exists here (Secrets in secret.example.yaml) with the keys it reads, and
// that a ConfigMap loaded whole holds only the program's settings.
func checkRefs(t *testing.T, m *manifests, name string, c container, settings map[string]bool) {
	t.Helper()
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			continue
		}
		if r := e.ValueFrom.SecretKeyRef; r != nil {
			s := m.secrets[r.Name]
			if _, ok := s.keys()[r.Key]; !ok && !r.Optional {
				t.Errorf("%s: %s reads Secret %s key %s, which secret.example.yaml lacks", name, e.Name, r.Name, r.Key)
			}
		}
		if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
			if cm := m.configMaps[r.Name]; cm == nil || cm.Data[r.Key] == "" {
				t.Errorf("%s: %s reads ConfigMap %s key %s, which does not exist", name, e.Name, r.Name, r.Key)
			}
		}
	}
	for _, ef := range c.EnvFrom {
		cm := m.configMaps[ef.ConfigMapRef.Name]
		if cm == nil {
			t.Errorf("%s: envFrom ConfigMap %s does not exist", name, ef.ConfigMapRef.Name)
			continue
		}
		for k := range cm.Data {
			if !settings[k] {
				t.Errorf("%s: ConfigMap %s key %s is not a setting of the program", name, ef.ConfigMapRef.Name, k)
			}
		}
	}
}

func (s *secret) keys() map[string]string {
	if s == nil {
		return nil
	}
	return s.StringData
}

func findEnv(env []envVar, name string) *envVar {
	for i := range env {
		if env[i].Name == name {
			return &env[i]
		}
	}
	return nil
}

func hasPort(c container, port any) bool {
	for _, p := range c.Ports {
		if p.Name == port || toInt(port) == p.ContainerPort {
			return true
		}
	}
	return false
}

// selects reports whether a label selector matches a set of labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
