// Package storemodel scans the objects of a storage listing with the
// model scanner in place: through ranged reads of what each format needs,
// never a local copy.
package storemodel

import (
	"context"
	"fmt"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/scan/model"
	"github.com/mlattest/mlattest/store"
)

// Scan scans every object of l with s, in listing order (see
// model.ScanListing); results are named by URI.
func Scan(ctx context.Context, s *model.Scanner, l *store.Objects, each func(model.Result) error) error {
	ol := listing{l: l, byName: make(map[string]digest.SourceFile, len(l.Files))}
	names := make([]string, len(l.Files))
	for i, f := range l.Files {
		ol.byName[f.Name] = f
		names[i] = f.Name
	}
	return s.ScanListing(ctx, ol, names, each)
}

// listing is a store listing as the model scanner reads it.
type listing struct {
	l      *store.Objects
	byName map[string]digest.SourceFile
}

func (o listing) Open(ctx context.Context, name string) (model.File, error) {
	f, ok := o.byName[name]
	if !ok {
		return nil, fmt.Errorf("%s: not listed", o.l.URI(name))
	}
	return o.l.ReaderAt(ctx, f), nil
}

func (o listing) URI(name string) string { return o.l.URI(name) }
