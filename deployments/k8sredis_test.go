package deployments

import (
	"net/url"
	"os"
	"strings"
	"testing"
)

// TestK8sRedisUsers: fetchers and web replicas log in to Redis as the
// README's two users, from Secrets of their own, so that a web pod never
// holds the URL of the user that can read the EEN v3 token set; and the
// manifests say that the external Redis must keep its data.
func TestK8sRedisUsers(t *testing.T) {
	m := loadManifests(t)
	users := readmeUsers(t)
	secretOf := map[string]string{}
	// Each Deployment is named as its Redis user.
	for _, name := range []string{"camrelay-fetcher", "camrelay-web"} {
		d := m.deployments[name]
		if d == nil || len(d.Spec.Template.Spec.Containers) == 0 {
			t.Fatalf("no Deployment %s", name)
		}
		e := findEnv(d.Spec.Template.Spec.Containers[0].Env, "REDIS_URL")
		if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Fatalf("%s: REDIS_URL must come from a Secret", name)
		}
		ref := e.ValueFrom.SecretKeyRef
		secretOf[name] = ref.Name
		var user string
		u, err := url.Parse(m.secrets[ref.Name].keys()[ref.Key])
		if err == nil && u.User != nil {
			user = u.User.Username()
		}
		if user != name || users[name] == nil {
			t.Errorf("%s: the example Secret %s logs in as %q (%v); want %s, a user the README's ACL rules name",
				name, ref.Name, user, err, name)
		}
	}
	if secretOf["camrelay-fetcher"] == secretOf["camrelay-web"] {
		t.Errorf("fetchers and web replicas read REDIS_URL from the same Secret %s", secretOf["camrelay-web"])
	}
	for name, d := range m.deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				r := e.ValueFrom
				if name != "camrelay-fetcher" && r != nil && r.SecretKeyRef != nil && r.SecretKeyRef.Name == secretOf["camrelay-fetcher"] {
					t.Errorf("%s reads the fetchers' Redis Secret %s", name, r.SecretKeyRef.Name)
				}
			}
		}
	}
	k, err := os.ReadFile("k8s/kustomization.yaml")
	if err != nil || !strings.Contains(string(k), "appendonly yes") {
		t.Errorf("k8s/kustomization.yaml must say that the external Redis runs with appendonly yes (%v)", err)
	}
}
