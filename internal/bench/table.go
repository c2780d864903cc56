package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Row is one figure of the table. Camrelay and Peer are formatted
// figures; Ratio is camrelay ÷ peer where a peer ran in the same run.
type Row struct {
	Scenario string
	Figure   string
	Camrelay string
	Peer     string
	Ratio    string
	Target   string
	Met      string // "yes", "no", or "" where there is no target
	Err      bool   // the scenario failed; Camrelay says why
}

// Machine describes where and when the run happened.
type Machine struct {
	CPU       string
	Cores     int
	Go        string
	Nginx     string
	Redis     string
	LoadStart string
	LoadEnd   string
	Started   time.Time
}

func machineNow() Machine {
	return Machine{CPU: cpuModel(), Cores: runtime.NumCPU(), Go: runtime.Version(),
		Nginx: version("nginx", "-v"), Redis: version("redis-server", "--version"),
		LoadStart: loadAvg(), Started: time.Now()}
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range bytes.Lines(b) {
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && string(bytes.TrimSpace(k)) == "model name" {
			return string(bytes.TrimSpace(v))
		}
	}
	return runtime.GOARCH
}

// loadAvg is /proc/loadavg's 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// version is the first line a program prints about its version.
func version(name string, arg string) string {
	bin, err := exec.LookPath(name)
	if err != nil {
		return "not found"
	}
	out, _ := exec.Command(bin, arg).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// Print writes the header, the table (Markdown) and the footer.
func (r Report) Print(w io.Writer, smoke bool) {
	m := r.Machine
	mode := "full run"
	if smoke {
		mode = "smoke run (small sizes, short loads: figures prove the scenarios run, not speeds)"
	}
	fmt.Fprintf(w, "camrelay benchmark, %s, %s\n", m.Started.Format("2006-01-02 15:04 MST"), mode)
	fmt.Fprintf(w, "machine: %s, %d cores, %s; %s; %s\n", m.CPU, m.Cores, m.Go, m.Nginx, m.Redis)
	fmt.Fprintf(w, "load average (1, 5, 15 min): %s at start, %s at end; took %s\n\n", m.LoadStart, m.LoadEnd, r.Elapsed.Round(time.Second))
	cells := [][]string{{"scenario", "figure", "camrelay", "peer", "ratio", "target", "met?"}}
	for _, row := range r.Rows {
		cells = append(cells, []string{row.Scenario, row.Figure, row.Camrelay, row.Peer, row.Ratio, row.Target, row.Met})
	}
	writeTable(w, cells)
	fmt.Fprintf(w, "\nratio: camrelay ÷ peer, both measured in this run. Everything ran on this one machine over loopback,\n"+
		"load generators included; other processes may have been running (see the load average).\n")
}

// writeTable writes cells as a Markdown table with aligned columns.
func writeTable(w io.Writer, cells [][]string) {
	width := make([]int, len(cells[0]))
	for _, row := range cells {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range row {
			fmt.Fprintf(&b, " %s%s |", c, strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)))
		}
		fmt.Fprintln(w, b.String())
	}
	line(cells[0])
	sep := make([]string, len(width))
	for i, n := range width {
		sep[i] = strings.Repeat("-", n)
	}
	line(sep)
	for _, row := range cells[1:] {
		line(row)
	}
}

// percentile returns the p-th percentile (0 < p ≤ 100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// median of xs (the upper one of an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// usText writes ns (a CPU time per request) in µs.
func usText(ns float64) string { return fmt.Sprintf("%.1f µs", ns/1e3) }

// ms formats a duration in milliseconds.
func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.1f ms", float64(d)/1e6)
}

// num formats a count with thousands separators.
func num(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// ratio formats a ÷ b.
func ratio(a, b float64) string {
	if b == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", a/b)
}

// met says whether a target was met.
func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// ofRuns says over how many runs a figure is.
func ofRuns(n int) string {
	if n == 1 {
		return "1 run"
	}
	return fmt.Sprintf("median of %d runs", n)
}

// ofWindows says over how many windows a figure is.
func ofWindows(n int) string {
	if n == 1 {
		return "1 window"
	}
	return fmt.Sprintf("median of %d windows", n)
}
