// Package deployments holds camrelay's deployment files: the Dockerfile,
// the nginx load balancer config and the Kubernetes manifests. It has no
// code; its tests check those files and run docker-compose.yml for real.
package deployments
