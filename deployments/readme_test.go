package deployments

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/camrelay/camrelay/internal/app"
)

// readme is the repository's README.md.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// demoNames maps the simulator's demo cameras (app.DemoCameras,
// "esn=Name@interval,...") to their names.
func demoNames() map[string]string {
	cams := make(map[string]string)
	for item := range strings.SplitSeq(app.DemoCameras, ",") {
		item, _, _ = strings.Cut(item, "@")
		esn, name, _ := strings.Cut(item, "=")
		cams[esn] = name
	}
	return cams
}

// The README's scale-out recipe sits between these two comments, as one
// fenced block; recipe_test.go runs it.
const (
	recipeBegin = "<!-- scale-out recipe:"
	recipeEnd   = "<!-- end of scale-out recipe -->"
)

// recipeCommand is one command of the recipe, as bash runs it.
type recipeCommand struct {
	line    string
	listens []string // host:port it opens (those no earlier command names)
}

// recipeAddr finds the loopback ports a command names.
var recipeAddr = regexp.MustCompile(`127\.0\.0\.1:(\d+)|--port (\d+)`)

// parseRecipe returns the commands of the recipe's code block: comments
// and blank lines dropped, backslash-continued lines joined.
func parseRecipe(md string) ([]recipeCommand, error) {
	_, rest, ok := strings.Cut(md, recipeBegin)
	if !ok {
		return nil, fmt.Errorf("README.md has no %q comment before a scale-out recipe", recipeBegin)
	}
	body, _, ok := strings.Cut(rest, recipeEnd)
	if !ok {
		return nil, fmt.Errorf("README.md: no %q after the scale-out recipe", recipeEnd)
	}
	_, block, ok := strings.Cut(body, "```sh\n")
	if ok {
		block, _, ok = strings.Cut(block, "```")
	}
	if !ok {
		return nil, fmt.Errorf("README.md: the scale-out recipe has no ```sh block between its markers")
	}
	var cmds []recipeCommand
	seen := map[string]bool{}
	line := ""
	for raw := range strings.Lines(block) {
		raw = strings.TrimSpace(raw)
		if line == "" && (raw == "" || strings.HasPrefix(raw, "#")) {
			continue
		}
		if cont, ok := strings.CutSuffix(raw, `\`); ok {
			line += cont
			continue
		}
		line += raw
		c := recipeCommand{line: line}
		for _, m := range recipeAddr.FindAllStringSubmatch(line, -1) {
			addr := "127.0.0.1:" + m[1] + m[2]
			if !seen[addr] {
				seen[addr] = true
				c.listens = append(c.listens, addr)
			}
		}
		cmds = append(cmds, c)
		line = ""
	}
	return cmds, nil
}

// recipeAddrs returns the values of setting in the recipe's commands that
// run program, in order: e.g. each fetcher's ADMIN_ADDR.
func recipeAddrs(cmds []recipeCommand, program, setting string) []string {
	value := regexp.MustCompile(`\b` + setting + `=(\S+)`)
	var addrs []string
	for _, c := range cmds {
		if strings.Contains(c.line, "go run "+program) {
			if m := value.FindStringSubmatch(c.line); m != nil {
				addrs = append(addrs, m[1])
			}
		}
	}
	return addrs
}

// recipe is the README's scale-out recipe: its commands, and the admin
// addresses of its two fetchers and the listen addresses of its two web
// replicas.
type recipe struct {
	cmds           []recipeCommand
	fetchers, webs []string
}

func loadRecipe(t *testing.T) recipe {
	t.Helper()
	cmds, err := parseRecipe(readme(t))
	if err != nil {
		t.Fatal(err)
	}
	r := recipe{cmds: cmds,
		fetchers: recipeAddrs(cmds, "./cmd/fetcher", "ADMIN_ADDR"),
		webs:     recipeAddrs(cmds, "./cmd/web", "LISTEN_ADDR")}
	if len(r.fetchers) != 2 || len(r.webs) != 2 {
		t.Fatalf("the scale-out recipe runs fetchers with ADMIN_ADDR %v and web replicas with LISTEN_ADDR %v: want two of each", r.fetchers, r.webs)
	}
	if r.fetchers[0] == r.fetchers[1] || r.webs[0] == r.webs[1] {
		t.Fatalf("the scale-out recipe's fetchers (ADMIN_ADDR %v) and web replicas (LISTEN_ADDR %v) must each have their own address", r.fetchers, r.webs)
	}
	return r
}

func TestReadmeHasScaleOutRecipe(t *testing.T) {
	r := loadRecipe(t)
	for _, want := range []string{"redis-server ", "go run ./cmd/eensim"} {
		if !slices.ContainsFunc(r.cmds, func(c recipeCommand) bool { return strings.Contains(c.line, want) }) {
			t.Errorf("the scale-out recipe has no %q command", want)
		}
	}
}

// TestReadmeEmbedExampleUsesDemoCameras: the snippets of "Put a camera on
// your page" name demo cameras, by their demo names, so that pasting them
// against the all-in-one shows what they say.
func TestReadmeEmbedExampleUsesDemoCameras(t *testing.T) {
	_, section, ok := strings.Cut(readme(t), "## Put a camera on your page")
	if !ok {
		t.Fatal(`README.md has no "## Put a camera on your page"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	demo := demoNames()
	esns := regexp.MustCompile(`(?:/preview/|/embed/|esn=")([0-9a-f]{8})`).FindAllStringSubmatch(section, -1)
	if len(esns) == 0 {
		t.Fatal("the embed example names no camera")
	}
	for _, m := range esns {
		if _, ok := demo[m[1]]; !ok {
			t.Errorf("the embed example names camera %s, which is not a demo camera (%s)", m[1], app.DemoCameras)
		}
	}
	for _, m := range regexp.MustCompile(`/preview/([0-9a-f]{8})\.m?jpg" alt="([^"]*)"`).FindAllStringSubmatch(section, -1) {
		if want, ok := demo[m[1]]; ok && m[2] != want {
			t.Errorf("the embed example calls camera %s %q; the demo calls it %q", m[1], m[2], want)
		}
	}
}
