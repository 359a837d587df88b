// Command benchplot draws the scale curves of `go test -bench` output as one SVG:
// for each benchmark with sub-benchmarks named <param>=<count> it plots ns/op
// against the count, both axes logarithmic, so a flat line means "cost independent
// of the count". scripts/bench.sh's `curves` section pipes the scale benchmarks into it.
//
//	go test ./internal/apigw/... -run XXX -bench Scale | go run ./scripts/benchplot -o docs/scale-curves.svg
package main

import (
	"bufio"
	"flag"
	"fmt"
	"html"
	"log"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A result line: BenchmarkRouteMatchScale/routes=100-2   123456   563.2 ns/op ...
var line = regexp.MustCompile(`^(Benchmark[^/\s]+)/([A-Za-z]+)=(\d+)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op`)

type point struct{ x, y float64 }

func main() {
	out := flag.String("o", "scale-curves.svg", "SVG file to write")
	title := flag.String("title", "cost per operation vs count (log-log; flat = independent of the count)", "chart title")
	flag.Parse()
	series := map[string][]point{}
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		x, _ := strconv.ParseFloat(m[3], 64)
		y, _ := strconv.ParseFloat(m[4], 64)
		name := strings.TrimPrefix(m[1], "Benchmark") + " (" + m[2] + ")"
		if _, ok := series[name]; !ok {
			order = append(order, name)
		}
		series[name] = append(series[name], point{x, y})
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	if len(order) == 0 {
		log.Fatal("benchplot: no <name>/<param>=<count> benchmark results on stdin")
	}
	if err := os.WriteFile(*out, []byte(render(*title, order, series)), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "benchplot: %d curves → %s\n", len(order), *out)
}

func render(title string, order []string, series map[string][]point) string {
	const w, h, left, right, top, bottom = 760.0, 420.0, 70.0, 250.0, 40.0, 50.0
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, pts := range series {
		for _, p := range pts {
			minX, maxX = min(minX, p.x), max(maxX, p.x)
			minY, maxY = min(minY, p.y), max(maxY, p.y)
		}
	}
	lx0, lx1 := math.Floor(math.Log10(minX)), math.Ceil(math.Log10(maxX))
	ly0, ly1 := math.Floor(math.Log10(minY)), math.Ceil(math.Log10(maxY))
	if lx1 == lx0 {
		lx1++
	}
	if ly1 == ly0 {
		ly1++
	}
	px := func(x float64) float64 { return left + (math.Log10(x)-lx0)/(lx1-lx0)*(w-left-right) }
	py := func(y float64) float64 { return h - bottom - (math.Log10(y)-ly0)/(ly1-ly0)*(h-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%.0f" y="22" font-size="14">%s</text>`+"\n", left, html.EscapeString(title))
	for e := lx0; e <= lx1; e++ {
		x := px(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n",
			x, top, x, h-bottom, x, h-bottom+16, count(math.Pow(10, e)))
	}
	for e := ly0; e <= ly1; e++ {
		y := py(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, y, w-right, y, left-6, y+4, duration(math.Pow(10, e)))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">count (routes, APIs, ...)</text>`+"\n", (left+w-right)/2, h-12)
	colors := []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}
	for i, name := range order {
		pts := slices.Clone(series[name])
		slices.SortFunc(pts, func(a, b point) int { return int(a.x - b.x) })
		c := colors[i%len(colors)]
		var path []string
		for _, p := range pts {
			path = append(path, fmt.Sprintf("%.1f,%.1f", px(p.x), py(p.y)))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %s at %s</title></circle>`+"\n",
				px(p.x), py(p.y), c, html.EscapeString(name), duration(p.y), count(p.x))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(path, " "), c)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="3" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			w-right+14, top+10+float64(i)*18, c, w-right+30, top+14+float64(i)*18, html.EscapeString(name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func count(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func duration(ns float64) string {
	switch {
	case ns >= 1e6:
		return count(ns/1e6) + " ms"
	case ns >= 1e3:
		return count(ns/1e3) + " µs"
	}
	return count(ns) + " ns"
}
