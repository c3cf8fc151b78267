package deploy

import (
	"debug/buildinfo"
	"debug/elf"
	"debug/gosym"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Linked is what a Go binary says it contains: the modules recorded in its
// build information and the functions of its Go symbol table (the pclntab,
// which stays in the binary when -ldflags "-s -w" strips the ELF symbols).
type Linked struct {
	GOOS, GOARCH string
	Modules      []string // module paths, sorted
	Funcs        []string // function names, sorted
}

// Inspect reads the build information and the Go symbol table of an ELF
// binary built by the Go toolchain.
func Inspect(path string) (*Linked, error) {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: build info: %w", path, err)
	}
	l := &Linked{}
	for _, s := range info.Settings {
		switch s.Key {
		case "GOOS":
			l.GOOS = s.Value
		case "GOARCH":
			l.GOARCH = s.Value
		}
	}
	for _, d := range info.Deps {
		l.Modules = append(l.Modules, d.Path)
	}
	slices.Sort(l.Modules)

	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	pcln, text := f.Section(".gopclntab"), f.Section(".text")
	if pcln == nil || text == nil {
		return nil, errors.New(path + ": no .gopclntab or .text section")
	}
	data, err := pcln.Data()
	if err != nil {
		return nil, fmt.Errorf("%s: .gopclntab: %w", path, err)
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		return nil, fmt.Errorf("%s: Go symbol table: %w", path, err)
	}
	for _, fn := range tab.Funcs {
		l.Funcs = append(l.Funcs, fn.Name)
	}
	slices.Sort(l.Funcs)
	return l, nil
}

// LinksModule reports whether the binary contains code of the module at
// path (e.g. "github.com/stripe/stripe-go/v76"): by its build information
// and, independently, by its function names. The two answers must agree;
// evidence lists the first few function names found.
func (l *Linked) LinksModule(path string) (linked bool, evidence []string, err error) {
	inInfo := false
	for _, m := range l.Modules {
		if m == path || strings.HasPrefix(m, path+"/") {
			inInfo = true
		}
	}
	for _, fn := range l.Funcs {
		// Names are "module/pkg.Func", "module/pkg.(*T).M" or, for
		// generic instances, "pkg.F[module/pkg.T]".
		if strings.Contains(fn, path+".") || strings.Contains(fn, path+"/") {
			evidence = append(evidence, fn)
		}
	}
	inFuncs := len(evidence) > 0
	if len(evidence) > 5 {
		evidence = evidence[:5]
	}
	if inInfo != inFuncs {
		return inInfo || inFuncs, evidence, fmt.Errorf("build info says %v and the symbol table says %v for %s", inInfo, inFuncs, path)
	}
	return inInfo, evidence, nil
}
