// Command chart reads `go test -bench` output (any -count) and writes an SVG bar chart of the median
// ns/op and allocs/op of every Benchmark<Operation>/<client>, one group of bars per operation, on a
// logarithmic scale. Standard library only.
//
//	go run ./cmd/chart < results.txt > results.svg
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

var clients = []string{"workerskv", "nethttp", "cfgo-v7", "cfgo-legacy"}

var colors = map[string]string{
	"workerskv": "#f38020", "nethttp": "#6b7280", "cfgo-v7": "#2563eb", "cfgo-legacy": "#16a34a",
}

// line matches "BenchmarkOp/client=name-2  N  123 ns/op ... 45 allocs/op" (the "client=" is optional).
var line = regexp.MustCompile(`^Benchmark([^/\s]+)/(?:client=)?([^\s]+?)(?:-\d+)?\s+\d+\s+(.*)$`)

type key struct{ op, client string }

func main() {
	in := flag.String("in", "", "input file (default stdin)")
	out := flag.String("out", "", "output file (default stdout)")
	flag.Parse()
	var r io.Reader = os.Stdin
	if *in != "" {
		f, err := os.Open(*in)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		r = f
	}
	ns, allocs, ops := parse(r)
	if len(ops) == 0 {
		fail(fmt.Errorf("no benchmark lines found"))
	}
	var w io.Writer = os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	render(bw, ops, ns, allocs)
	if err := bw.Flush(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "chart:", err)
	os.Exit(1)
}

func parse(r io.Reader) (ns, allocs map[key]float64, ops []string) {
	nsAll, alAll := map[key][]float64{}, map[key][]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		k := key{m[1], m[2]}
		if !slices.Contains(clients, k.client) {
			continue
		}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				nsAll[k] = append(nsAll[k], v)
			case "allocs/op":
				alAll[k] = append(alAll[k], v)
			}
		}
		if !slices.Contains(ops, k.op) {
			ops = append(ops, k.op)
		}
	}
	return medians(nsAll), medians(alAll), ops
}

func medians(m map[key][]float64) map[key]float64 {
	out := map[key]float64{}
	for k, v := range m {
		sort.Float64s(v)
		n := len(v)
		if n%2 == 1 {
			out[k] = v[n/2]
		} else {
			out[k] = (v[n/2-1] + v[n/2]) / 2
		}
	}
	return out
}

const (
	width      = 1100
	panelH     = 300
	left       = 70
	right      = 20
	top        = 60
	gapBetween = 110
	labelH     = 80
)

func render(w io.Writer, ops []string, ns, allocs map[key]float64) {
	height := top + 2*panelH + gapBetween + labelH
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(w, `<text x="%d" y="22" font-size="15" font-weight="bold">Workers KV Go clients: median per operation (lower is better, log scale)</text>`+"\n", left)
	// Legend.
	x := left
	for _, c := range clients {
		fmt.Fprintf(w, `<rect x="%d" y="34" width="12" height="12" fill="%s"/><text x="%d" y="44">%s</text>`+"\n", x, colors[c], x+16, c)
		x += 120
	}
	panel(w, ops, ns, top, "time per op", fmtDuration)
	panel(w, ops, allocs, top+panelH+gapBetween, "allocations per op", fmtCount)
	fmt.Fprintln(w, "</svg>")
}

func panel(w io.Writer, ops []string, vals map[key]float64, y0 int, title string, format func(float64) string) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if v > 0 {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if math.IsInf(lo, 1) {
		return
	}
	dlo, dhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if dhi == dlo {
		dhi++
	}
	plotW := width - left - right
	yOf := func(v float64) float64 {
		return float64(y0+panelH) - (math.Log10(v)-dlo)/(dhi-dlo)*float64(panelH)
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" font-size="13" font-weight="bold">%s</text>`+"\n", left, y0-8, title)
	for d := dlo; d <= dhi; d++ {
		y := yOf(math.Pow(10, d))
		fmt.Fprintf(w, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, width-right, y, y, left-6, y+4, format(math.Pow(10, d)))
	}
	group := float64(plotW) / float64(len(ops))
	bar := (group - 14) / float64(len(clients))
	for i, op := range ops {
		gx := float64(left) + float64(i)*group + 7
		for j, c := range clients {
			v, ok := vals[key{op, c}]
			bx := gx + float64(j)*bar
			if !ok || v <= 0 {
				fmt.Fprintf(w, `<text x="%.1f" y="%d" font-size="9" fill="#999" transform="rotate(-90 %.1f %d)">n/a</text>`+"\n", bx+bar/2+3, y0+panelH-4, bx+bar/2+3, y0+panelH-4)
				continue
			}
			y := yOf(v)
			fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s/%s: %s</title></rect>`+"\n",
				bx, y, bar-1, float64(y0+panelH)-y, colors[c], op, c, format(v))
		}
		fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="end" transform="rotate(-30 %.1f %d)">%s</text>`+"\n",
			gx+group/2, y0+panelH+14, gx+group/2, y0+panelH+14, op)
	}
	fmt.Fprintf(w, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#333"/>`+"\n", left, width-right, y0+panelH, y0+panelH)
}

func fmtDuration(ns float64) string {
	switch {
	case ns >= 1e9:
		return trim(ns/1e9) + "s"
	case ns >= 1e6:
		return trim(ns/1e6) + "ms"
	case ns >= 1e3:
		return trim(ns/1e3) + "µs"
	}
	return trim(ns) + "ns"
}

func fmtCount(v float64) string {
	switch {
	case v >= 1e6:
		return trim(v/1e6) + "M"
	case v >= 1e3:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

func trim(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }
