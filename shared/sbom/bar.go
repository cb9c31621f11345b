package sbom

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/event"
	"github.com/anchore/syft/syft/event/monitor"
	"github.com/anchore/syft/syft/event/parsers"
	"github.com/wagoodman/go-partybus"
	"github.com/wagoodman/go-progress"
)

// barWidth is the number of cells of the progress bar.
const barWidth = 24

// barMu allows one progress bar at a time: syft publishes its events on one
// process-wide bus.
var barMu sync.Mutex

// idleBus has no subscribers; syft publishes to it when no bar listens (a nil
// bus would make syft's publisher a typed nil).
var idleBus = partybus.NewBus()

// startBar draws syft's progress on w as one line redrawn in place (for a
// terminal) every interval: files indexed while the source is indexed, then
// the cataloging tasks done out of all, with syft's running count. stop draws
// the last frame, ends the line and detaches from syft's bus. When another
// bar is running, startBar draws nothing.
func startBar(w io.Writer, interval time.Duration) (stop func()) {
	if !barMu.TryLock() {
		return func() {}
	}
	bus := partybus.NewBus()
	sub := bus.Subscribe(event.FileIndexingStarted, event.CatalogerTaskStarted)
	syft.SetBus(bus)

	var (
		mu       sync.Mutex
		indexing progress.StagedProgressable
		catalog  progress.StagedProgressable
		packages progress.StagedProgressable
		drawn    bool
	)
	draw := func() {
		mu.Lock()
		defer mu.Unlock()
		line := barLine(indexing, catalog, packages)
		if line == "" {
			return
		}
		// Carriage return, the frame, then erase to the end of the line.
		fmt.Fprintf(w, "\r%s\x1b[K", line)
		drawn = true
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		events := sub.Events()
		for {
			select {
			case e, ok := <-events:
				if !ok {
					events = nil
					continue
				}
				mu.Lock()
				switch e.Type {
				case event.FileIndexingStarted:
					if _, p, err := parsers.ParseFileIndexingStarted(e); err == nil {
						indexing = p
					}
				case event.CatalogerTaskStarted:
					if p, task, err := parsers.ParseCatalogerTaskStarted(e); err == nil {
						switch task.ID {
						case monitor.TopLevelCatalogingTaskID:
							catalog = p
						case monitor.PackageCatalogingTaskID:
							packages = p
						}
					}
				}
				mu.Unlock()
			case <-tick.C:
				draw()
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		syft.SetBus(idleBus)
		_ = sub.Unsubscribe()
		draw()
		if drawn {
			fmt.Fprintln(w)
		}
		barMu.Unlock()
	}
}

// barLine renders one frame, or "" before anything has started; packages
// carries syft's running package count.
func barLine(indexing, catalog, packages progress.StagedProgressable) string {
	switch {
	case catalog != nil:
		n, size := catalog.Current(), catalog.Size()
		cells := 0
		if size > 0 {
			cells = int(min(n, size) * barWidth / size)
		}
		line := fmt.Sprintf("sbom: [%s%s] %d/%d cataloging tasks", strings.Repeat("#", cells), strings.Repeat("-", barWidth-cells), n, size)
		for _, p := range []progress.StagedProgressable{catalog, packages} {
			if p != nil && p.Stage() != "" {
				line += " · " + p.Stage()
			}
		}
		return line
	case indexing != nil:
		line := "sbom: indexing"
		if n := indexing.Current(); n > 0 {
			line += fmt.Sprintf(" · %d files", n)
		}
		if st := indexing.Stage(); st != "" {
			// The path being indexed, shortened so the frame fits a line.
			if r := []rune(st); len(r) > 48 {
				st = "…" + string(r[len(r)-47:])
			}
			line += " · " + st
		}
		return line
	}
	return ""
}
