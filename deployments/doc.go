// Package deployments holds camrelay's deployment files: the Dockerfile,
// the nginx load balancer config and the Kubernetes manifests. Its only
// code hands nginx.conf, rewritten for a local run, to the tests and the
// bench; its tests check those files, run docker-compose.yml for real, and
// run the README's by-hand scale-out recipe as written.
package deployments
