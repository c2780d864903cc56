// Package deployments holds camrelay's deployment files: the Dockerfile,
// the nginx load balancer config and the Kubernetes manifests. It has no
// code; its tests check those files, run docker-compose.yml for real, and
// run the README's by-hand scale-out recipe as written.
package deployments
