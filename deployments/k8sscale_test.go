package deployments

import (
	"strings"
	"testing"
)

// TestK8sScaling: the autoscaler, the disruption budgets, the Service and
// the Ingress all point at the workloads they are meant for.
func TestK8sScaling(t *testing.T) {
	m := loadManifests(t)
	web := m.deployments["camrelay-web"]
	if web == nil {
		t.Fatal("no camrelay-web Deployment")
	}
	checkAutoscaler(t, m, web)
	checkBudgets(t, m, web)
	checkRouting(t, m, web)
	// Every image the workloads run can be retagged by the kustomization.
	for name, d := range m.deployments {
		img, _, _ := strings.Cut(d.Spec.Template.Spec.Containers[0].Image, ":")
		found := false
		for _, i := range m.kustom.Images {
			found = found || i.Name == img
		}
		if !found {
			t.Errorf("%s: image %s has no entry in kustomization.yaml's images", name, img)
		}
	}
}

// checkAutoscaler: one HPA, on the web Deployment, starting where the
// Deployment's replica count does.
func checkAutoscaler(t *testing.T, m *manifests, web *deployment) {
	t.Helper()
	if len(m.hpas) != 1 {
		t.Fatalf("%d HorizontalPodAutoscalers, want 1 (web)", len(m.hpas))
	}
	h := m.hpas[0].Spec
	if ref := h.ScaleTargetRef; ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != web.Metadata.Name {
		t.Errorf("HPA targets %+v, want the web Deployment", ref)
	}
	if h.MinReplicas < 2 || h.MaxReplicas < h.MinReplicas || len(h.Metrics) == 0 {
		t.Errorf("HPA: min %d max %d, %d metrics", h.MinReplicas, h.MaxReplicas, len(h.Metrics))
	}
	if h.MinReplicas != web.Spec.Replicas {
		t.Errorf("HPA minReplicas %d, Deployment replicas %d: the Deployment's count is where scaling starts", h.MinReplicas, web.Spec.Replicas)
	}
}

// checkBudgets: each PodDisruptionBudget selects exactly one workload's
// pods, and the web replicas have one.
func checkBudgets(t *testing.T, m *manifests, web *deployment) {
	t.Helper()
	covered := map[string]bool{}
	for _, p := range m.pdbs {
		if (p.Spec.MaxUnavailable == nil) == (p.Spec.MinAvailable == nil) {
			t.Errorf("PDB %s: set exactly one of maxUnavailable, minAvailable", p.Metadata.Name)
		}
		var matched []string
		for name, d := range m.deployments {
			if selects(p.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) {
				matched = append(matched, name)
			}
		}
		if len(matched) != 1 {
			t.Errorf("PDB %s selects the pods of %q, want exactly one Deployment", p.Metadata.Name, matched)
			continue
		}
		covered[matched[0]] = true
	}
	if !covered[web.Metadata.Name] {
		t.Error("no PodDisruptionBudget covers the web replicas")
	}
}

// checkRouting: the Service selects the web pods alone, on their declared
// port, and the Ingress routes to that Service with buffering off.
func checkRouting(t *testing.T, m *manifests, web *deployment) {
	t.Helper()
	svc := m.services[web.Metadata.Name]
	if svc == nil {
		t.Fatal("no Service for the web replicas")
	}
	if !selects(svc.Spec.Selector, web.Spec.Template.Metadata.Labels) {
		t.Errorf("Service selector %v does not select the web pods %v", svc.Spec.Selector, web.Spec.Template.Metadata.Labels)
	}
	for name, d := range m.deployments {
		if name != web.Metadata.Name && selects(svc.Spec.Selector, d.Spec.Template.Metadata.Labels) {
			t.Errorf("Service %s also selects %s pods", svc.Metadata.Name, name)
		}
	}
	for _, p := range svc.Spec.Ports {
		if !hasPort(web.Spec.Template.Spec.Containers[0], p.TargetPort) {
			t.Errorf("Service port %s: targetPort %v is not a web container port", p.Name, p.TargetPort)
		}
	}
	for _, ing := range m.ingresses {
		if ing.Metadata.Annotations["nginx.ingress.kubernetes.io/proxy-buffering"] != "off" {
			t.Errorf("Ingress %s buffers responses: SSE and MJPEG would stall", ing.Metadata.Name)
		}
		for _, r := range ing.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				b := p.Backend.Service
				if s := m.services[b.Name]; s == nil || !servicePort(s, b.Port.Name, b.Port.Number) {
					t.Errorf("Ingress %s routes %s to %s port %q/%d, which does not exist", ing.Metadata.Name, p.Path, b.Name, b.Port.Name, b.Port.Number)
				}
			}
		}
	}
}

func servicePort(s *service, name string, number int) bool {
	for _, p := range s.Spec.Ports {
		if (name != "" && p.Name == name) || (number != 0 && p.Port == number) {
			return true
		}
	}
	return false
}
