package main

import (
	"fmt"
	"io"
)

// goal is one of the goals: a measured value against a target.
type goal struct {
	name     string
	value    float64
	op       string // ">=" or "<="
	target   float64
	format   string
	measured bool
}

func (g goal) met() bool {
	if !g.measured {
		return false
	}
	if g.op == ">=" {
		return g.value >= g.target
	}
	return g.value <= g.target
}

// String is the goal's line, in the form a script reads:
// "goal <name>: <value> (target <op> <target>) met" or "… missed".
func (g goal) String() string {
	if !g.measured {
		return fmt.Sprintf("goal %s: not measured (target %s %s)", g.name, g.op, fmt.Sprintf(g.format, g.target))
	}
	verdict := "missed"
	if g.met() {
		verdict = "met"
	}
	return fmt.Sprintf("goal %s: %s (target %s %s) %s", g.name, fmt.Sprintf(g.format, g.value), g.op, fmt.Sprintf(g.format, g.target), verdict)
}

// goals collects the run's goals in the order they are added.
type goals struct{ list []goal }

func (g *goals) add(name string, value float64, op string, target float64, format string) {
	g.list = append(g.list, goal{name: name, value: value, op: op, target: target, format: format, measured: true})
}

func (g *goals) notMeasured(name, op string, target float64, format string) {
	g.list = append(g.list, goal{name: name, op: op, target: target, format: format})
}

func (g *goals) print(out io.Writer) {
	for _, x := range g.list {
		fmt.Fprintln(out, x)
	}
}
