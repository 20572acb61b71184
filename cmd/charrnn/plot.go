package main

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"charrnn/engine"
)

// The loss curves of a run, drawn by train -plot at each save and at the
// end, and by the plot command from a -log file.

// runPlot is the plot command: draw the curves of a -log file.
func runPlot(args []string) error {
	var logPath, out string
	flags := newFlagSet("plot", "-log FILE.jsonl [-o FILE.png]")
	flags.StringVar(&logPath, "log", "", "the `FILE` written by train -log")
	flags.StringVar(&out, "o", "", "image `FILE` to write: .png, .svg or .pdf (default: the log's name with .png)")
	if err := flags.parse(args); err != nil {
		return err
	}
	if logPath == "" {
		return badInputf("-log is required (see 'charrnn plot -h')")
	}
	if out == "" {
		out = strings.TrimSuffix(logPath, filepath.Ext(logPath)) + ".png"
	}
	if err := checkPlotPath("-o", out); err != nil {
		return err
	}
	points, err := readLog(logPath)
	if err != nil {
		return badInput(err)
	}
	if err := drawPlotFile(out, points); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "charrnn: plotted %d records of %s to %s\n", len(points), logPath, out)
	return nil
}

// plotFormats are the image formats the plot is written in, by extension.
var plotFormats = []string{".png", ".svg", ".pdf"}

// checkPlotPath checks, before anything is done, that an image can be
// written at path: a known extension, in a directory that exists.
func checkPlotPath(flag, path string) error {
	ext := strings.ToLower(filepath.Ext(path))
	if !contains(plotFormats, ext) {
		return badInputf("%s %s: the name must end in %s", flag, path, strings.Join(plotFormats, ", "))
	}
	return checkOutputDir(flag, path)
}

// checkOutputDir checks that path's directory exists and path, if it
// exists, is a regular file: not a directory, nor a named pipe that writing
// would wait on.
func checkOutputDir(flag, path string) error {
	dir := filepath.Dir(path)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return badInputf("%s %s: directory %s does not exist", flag, path, dir)
	}
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return badInputf("%s %s is a directory", flag, path)
	} else if err == nil && !info.Mode().IsRegular() {
		return badInputf("%s %s is not a regular file", flag, path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return badInputf("%s %s: %v", flag, path, err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// addPoint appends p to the curve. A step at or before the last one means
// a run resumed from an earlier checkpoint: its records replace those from
// that step on, so the curve follows the model that was kept.
func addPoint(points []point, p point) []point {
	if n := len(points); n > 0 && p.Step <= points[n-1].Step {
		i := sort.Search(n, func(i int) bool { return points[i].Step >= p.Step })
		points = points[:i]
	}
	return append(points, p)
}

// curves returns the training and validation curves of records in log order.
func curves(records []point) (train, val plotter.XYs) {
	var kept []point
	for _, p := range records {
		kept = addPoint(kept, p)
	}
	for _, p := range kept {
		train = append(train, plotter.XY{X: float64(p.Step), Y: p.Loss})
		if p.ValLoss != nil {
			val = append(val, plotter.XY{X: float64(p.Step), Y: *p.ValLoss})
		}
	}
	return train, val
}

var (
	trainColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff} // blue
	valColor   = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff} // red
)

// newLossPlot draws the curves of records: loss in nats per character
// against step, with a legend, and the latest values in the title.
func newLossPlot(records []point) (*plot.Plot, error) {
	train, val := curves(records)
	if len(train) == 0 {
		return nil, errors.New("no records to plot")
	}
	p := plot.New()
	last := train[len(train)-1]
	p.Title.Text = fmt.Sprintf("charrnn training: loss %.4f nats/char (%.3f bits/char) at step %.0f",
		last.Y, last.Y/math.Ln2, last.X)
	if len(val) > 0 {
		lv := val[len(val)-1]
		p.Title.Text += fmt.Sprintf("\nvalidation %.4f nats/char (%.3f bits/char) at step %.0f", lv.Y, lv.Y/math.Ln2, lv.X)
	}
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = "step"
	p.Y.Label.Text = "loss (nats/char)"
	p.Add(plotter.NewGrid())
	p.Legend.Top = true

	line, err := plotter.NewLine(train)
	if err != nil {
		return nil, err
	}
	line.Color, line.Width = trainColor, vg.Points(1.5)
	p.Add(line)
	p.Legend.Add("train", line)
	if len(val) > 0 {
		vline, vpoints, err := plotter.NewLinePoints(val)
		if err != nil {
			return nil, err
		}
		vline.Color, vline.Width = valColor, vg.Points(1.5)
		vpoints.Color, vpoints.Shape, vpoints.Radius = valColor, draw.CircleGlyph{}, vg.Points(2.5)
		p.Add(vline, vpoints)
		p.Legend.Add("validation", vline, vpoints)
	}
	if len(train) == 1 {
		// A single point has no extent: give the axes some.
		p.X.Min, p.X.Max = last.X-1, last.X+1
	}
	return p, nil
}

// drawPlotFile draws the curves of records to path, in the format its
// extension names, replacing the file whole or not at all.
func drawPlotFile(path string, records []point) error {
	p, err := newLossPlot(records)
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	img, err := p.WriterTo(24*vg.Centimeter, 14*vg.Centimeter, format)
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	var buf bytes.Buffer
	if _, err := img.WriteTo(&buf); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	// Whole or not at all: an image viewer refreshing the plot never sees
	// a half-written file.
	if err := engine.WriteFileAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return nil
}
